import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { messageOf, usageError } from '../errors.ts';
import { addSecret } from '../redact.ts';
import { MissingPassword, NO_TLS, connectError, worthAnotherAttempt } from './connect-error.ts';
import { parseConnString } from './conninfo.ts';
import { DEFAULT_SOCKET_DIRS, defaultSocketDir } from './default-host.ts';
import { LIBPQ_KEYWORDS, checkHonoured } from './libpq-keywords.ts';
import { lookupPassword } from './pgpass.ts';
import { readService, serviceFiles } from './service-file.ts';
import { sslAttempts } from './ssl.ts';

// Where to connect: from --db (a URL, keyword/value pairs or a database name) and its service, with libpq's PG*
// variables filling what they leave out, and psql's defaults after that.
export interface ConnInfo {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  /** the other libpq parameters of the string and its service (sslmode, sslrootcert, ...): children get them in their conninfo */
  params: Record<string, string>;
  /** libpq parameters from PG* variables: pgops's own connections use them, children read their environment themselves */
  envParams?: Record<string, string>;
  /** the home folder of libpq's default files (~/.pgpass, ~/.postgresql/) */
  home?: string;
  /** no host or hostaddr was given: host is psql's default socket folder */
  defaultHost?: boolean;
}

// The keywords that are ConnInfo's own fields, not params.
const FIELDS = ['host', 'port', 'user', 'dbname', 'password', 'service'];
// PGAPPNAME names the children as pgops does (childAuth); pgops names its own connections after the task.
const NOT_FROM_ENV = new Set([...FIELDS, 'application_name']);

// Resolves --db as libpq does: the string's keywords win over its service's (service= or PGSERVICE), which win over the
// PG* variables; then psql's defaults (the Unix socket, port 5432, the OS user, a database named as the user).
export function parseDbUrl(url: string | undefined, env: NodeJS.ProcessEnv = process.env): ConnInfo {
  const given = url ? parseConnString(url) : {};
  const home = env.HOME || os.userInfo().homedir;
  const serviceName = given.service || env.PGSERVICE;
  const service = serviceName ? readService(serviceName, serviceFiles(env, home)).keywords : {};
  const explicit: Record<string, string> = { ...service, ...given };
  const fromEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(LIBPQ_KEYWORDS)) if (v && env[v] && !NOT_FROM_ENV.has(k)) fromEnv[k] = env[v]!;
  const pick = (k: string) => explicit[k] || env[LIBPQ_KEYWORDS[k]!] || undefined;
  const params = withoutFields(explicit);
  const envParams = Object.fromEntries(Object.entries(fromEnv).filter(([k]) => !(k in params)));
  checkHonoured({ ...envParams, ...params });
  const portText = pick('port') ?? '5432';
  let host = pick('host');
  const hostaddr = params.hostaddr || envParams.hostaddr;
  if (host?.includes(',') || hostaddr?.includes(',') || portText.includes(',')) {
    throw usageError('pgops connects to one server: several hosts or ports are given', 'give the one host to connect to (a standby list belongs to the application, not to a backup)');
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port <= 0 || port > 65535) throw usageError(`invalid port: "${portText}"`, 'give one port number, such as port=5432');
  const defaultHost = !host && !hostaddr;
  if (!host) host = hostaddr ?? defaultSocketDir(port);
  const password = explicit.password || env.PGPASSWORD || undefined;
  addSecret(password);
  const user = pick('user') ?? os.userInfo().username;
  return { host, port, user, database: pick('dbname') ?? user, password, params, envParams, home, defaultHost };
}

function withoutFields(keywords: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(keywords).filter(([k]) => !FIELDS.includes(k)));
}

// The same server, another database.
export function withDatabase(info: ConnInfo, database: string): ConnInfo {
  return { ...info, database };
}

// A URL for messages: never the password.
export function displayUrl(info: ConnInfo): string {
  const host = info.host.startsWith('/') ? `?host=${info.host}` : '';
  const hostPart = info.host.startsWith('/') ? '' : info.host.includes(':') ? `[${info.host}]` : info.host;
  return `postgresql://${encodeURIComponent(info.user)}@${hostPart}:${info.port}/${encodeURIComponent(info.database)}${host}`;
}

// Opens a node-postgres connection as libpq would (sslmode's attempts, the password file read only when the server asks
// for a password), with a message and a hint when it fails. With catalogOnly, the session's search_path is pg_catalog
// alone (pg_temp last), so that no user object can stand in for a catalogue table, function, operator or type in
// pgops's own queries.
export async function connect(info: ConnInfo, applicationName = 'pgops', opts: { catalogOnly?: boolean } = {}): Promise<pg.Client> {
  const settings = { ...info.envParams, ...info.params };
  const address = settings.hostaddr || info.host;
  const serverKey = `${address}:${info.port}`;
  const planned = sslAttempts({ host: address, settings, home: homeOf(info) });
  const { mode } = planned;
  const attempts = mode === 'prefer' && plainServers.has(serverKey) ? [false as const] : planned.attempts;
  const auth = passwordFor(info);
  const options = [settings.options, opts.catalogOnly ? '-c search_path=pg_catalog,pg_temp' : ''].filter(Boolean).join(' ');
  // libpq waits forever by default; pgops's 15 s keep a cron job from hanging on a dead host
  const timeout = Number(settings.connect_timeout ?? 15);
  if (!Number.isInteger(timeout) || timeout < 0) throw usageError(`invalid connect_timeout value: "${settings.connect_timeout}"`, 'give whole seconds, such as connect_timeout=10 (0 waits forever)');
  // a TLS name for the certificate check and SNI when hostaddr gives the address
  const names = settings.hostaddr && !info.host.startsWith('/') && net.isIP(info.host) === 0 ? { host: info.host, servername: info.host } : {};
  for (let i = 0; ; i++) {
    const ssl = attempts[i];
    const client = new pg.Client({
      ...(options ? { options } : {}),
      host: address,
      port: info.port,
      user: info.user,
      password: auth.get,
      database: info.database,
      application_name: applicationName,
      ssl: ssl ? { ...ssl, ...names } : false,
      connectionTimeoutMillis: timeout > 0 ? Math.max(2, timeout) * 1000 : 0,
    });
    client.on('error', () => {}); // a dropped connection surfaces on the next query
    try {
      await client.connect();
      return client;
    } catch (err) {
      await client.end().catch(() => {});
      if (ssl && mode === 'prefer' && messageOf(err) === NO_TLS) plainServers.add(serverKey);
      if (i + 1 < attempts.length && worthAnotherAttempt(err)) continue;
      throw connectError(err, { where: displayUrl(info), mode, passwordFrom: auth.from(), defaultHost: info.defaultHost ?? false });
    }
  }
}

// Servers that answered prefer's TLS request with "no" in this run. node-postgres cannot go on in plain on that
// connection as libpq does, so each prefer connection to them would cost a second backend start (19 against 8 ms
// to a local server): the later ones of the run go plain at once.
const plainServers = new Set<string>();

// The password callback node-postgres calls when the server asks for one: the given password, else the password file's
// (passfile, PGPASSFILE, ~/.pgpass), else MissingPassword. node-postgres's own password file lookup is never reached
// (it prints a deprecation warning on every run).
function passwordFor(info: ConnInfo): { get: () => Promise<string>; from: () => string | undefined } {
  let from: string | undefined;
  return {
    from: () => from,
    get: async () => {
      if (info.password) return info.password;
      const found = passwordFileEntry(info);
      if (found.password) {
        from = found.file;
        return found.password;
      }
      const esc = (v: string | number) => String(v).replace(/[\\:]/g, '\\$&');
      const pgpassHost = info.host === DEFAULT_SOCKET_DIRS[0] ? 'localhost' : info.host;
      throw new MissingPassword(info.user, found.file, [pgpassHost, info.port, info.database, info.user].map(esc).join(':'));
    },
  };
}

// The password file's password for this connection (passfile, PGPASSFILE, ~/.pgpass), its warning printed once.
function passwordFileEntry(info: ConnInfo): { password?: string; file: string } {
  const file = info.params.passfile || info.envParams?.passfile || path.join(homeOf(info), '.pgpass');
  const found = lookupPassword(file, { host: info.host, port: info.port, database: info.database, user: info.user });
  if (found.warning) warnOnce(found.warning);
  addSecret(found.password);
  return { password: found.password, file };
}

function homeOf(info: ConnInfo): string {
  return info.home ?? (process.env.HOME || os.userInfo().homedir);
}

const warned = new Set<string>();

// libpq prints its password file warnings on stderr; pgops's go through Node's warnings, which the bin prints as log lines.
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.emitWarning(message, 'pgpass');
}

// libpq keyword=value connection string for child processes: never the password.
export function libpqConnString(info: ConnInfo): string {
  const quote = (v: string | number) => `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const parts = [`host=${quote(info.host)}`, `port=${quote(info.port)}`, `user=${quote(info.user)}`, `dbname=${quote(info.database)}`];
  for (const [k, v] of Object.entries(info.params)) {
    // childAuth says which password file the children read (PGPASSFILE)
    if (k === 'passfile') continue;
    parts.push(`${k}=${quote(v)}`);
  }
  return parts.join(' ');
}

// What a pg_* child needs: an environment whose password lives in a private temp pgpass file, and its cleanup.
export interface ChildAuth {
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

// Writes the password to a 0600 pgpass file that only this run uses; argv and the environment never hold it. The
// password is the given one, else the password file's for the database --db names: pg_dumpall and psql connect to
// other databases of the server (postgres, template1), which a line for that database alone would not match.
export function childAuth(info: ConnInfo, base: NodeJS.ProcessEnv = process.env): ChildAuth {
  const env: NodeJS.ProcessEnv = { ...base, PGAPPNAME: 'pgops' };
  delete env.PGPASSWORD;
  // the service's keywords are in the children's conninfo already (libpqConnString)
  delete env.PGSERVICE;
  const password = info.password ?? passwordFileEntry(info).password;
  if (!password) {
    if (info.params.passfile) env.PGPASSFILE = info.params.passfile;
    return { env, cleanup() {} };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-auth-'));
  const file = path.join(dir, `pgpass-${randomBytes(4).toString('hex')}`);
  const escaped = password.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  fs.writeFileSync(file, `*:*:*:*:${escaped}\n`, { mode: 0o600 });
  env.PGPASSFILE = file;
  return {
    env,
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
