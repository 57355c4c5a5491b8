import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ExitCode, PgopsError, messageOf, usageError } from '../errors.ts';
import { addSecret } from '../redact.ts';

// Where to connect: parsed from a URL, with libpq's PG* variables filling what the URL leaves out.
export interface ConnInfo {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  /** other libpq parameters from the URL's query (sslmode, sslrootcert, ...) */
  params: Record<string, string>;
}

// Parses postgresql://user:password@host:port/dbname?sslmode=require (host may also be ?host=/socket/dir).
export function parseDbUrl(url: string | undefined, env: NodeJS.ProcessEnv = process.env): ConnInfo {
  const params: Record<string, string> = {};
  let host: string | undefined;
  let port: string | undefined;
  let user: string | undefined;
  let password: string | undefined;
  let database: string | undefined;
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw usageError('the database must be given as a URL', 'write it as postgresql://user@host:5432/dbname');
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw usageError('the database URL cannot be parsed', 'write it as postgresql://user@host:5432/dbname; percent-encode special characters in the password');
    }
    host = decodeURIComponent(parsed.hostname) || undefined;
    port = parsed.port || undefined;
    user = decodeURIComponent(parsed.username) || undefined;
    password = decodeURIComponent(parsed.password) || undefined;
    database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined;
    for (const [k, v] of parsed.searchParams) {
      if (k === 'host') host = v;
      else if (k === 'port') port = v;
      else if (k === 'user') user = v;
      else if (k === 'password') password = v;
      else if (k === 'dbname') database = v;
      else params[k] = v;
    }
    if (host?.startsWith('[')) host = host.slice(1, -1);
  }
  addSecret(password);
  addSecret(env.PGPASSWORD);
  const info: ConnInfo = {
    host: host ?? env.PGHOST ?? 'localhost',
    port: Number(port ?? env.PGPORT ?? 5432),
    user: user ?? env.PGUSER ?? os.userInfo().username,
    database: '',
    password: password ?? env.PGPASSWORD,
    params,
  };
  info.database = database ?? env.PGDATABASE ?? info.user;
  if (!Number.isInteger(info.port) || info.port <= 0) throw usageError(`invalid port in the database URL: ${port}`);
  return info;
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

// Opens a node-postgres connection, with a message and a hint when the server cannot be reached. With catalogOnly,
// the session's search_path is pg_catalog alone (pg_temp last), so that no user object can stand in for a catalogue
// table, function, operator or type in pgops's own queries.
export async function connect(info: ConnInfo, applicationName = 'pgops', opts: { catalogOnly?: boolean } = {}): Promise<pg.Client> {
  const ssl = sslFor(info.params.sslmode);
  const client = new pg.Client({
    ...(opts.catalogOnly ? { options: '-c search_path=pg_catalog,pg_temp' } : {}),
    host: info.host,
    port: info.port,
    user: info.user,
    password: info.password,
    database: info.database,
    application_name: applicationName,
    ssl,
    connectionTimeoutMillis: 15_000,
  });
  client.on('error', () => {}); // a dropped connection surfaces on the next query
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new PgopsError(`cannot connect to ${displayUrl(info)}: ${messageOf(err)}`, {
      code: ExitCode.UNKNOWN,
      hint: 'check that the server runs and accepts connections from here (pg_isready), and the user, database and password',
      cause: err,
    });
  }
  return client;
}

function sslFor(mode: string | undefined): pg.ClientConfig['ssl'] {
  if (!mode || mode === 'disable' || mode === 'allow' || mode === 'prefer') return undefined;
  if (mode === 'require') return { rejectUnauthorized: false };
  return { rejectUnauthorized: true };
}

// libpq keyword=value connection string for child processes: never the password.
export function libpqConnString(info: ConnInfo): string {
  const quote = (v: string | number) => `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const parts = [`host=${quote(info.host)}`, `port=${quote(info.port)}`, `user=${quote(info.user)}`, `dbname=${quote(info.database)}`];
  for (const [k, v] of Object.entries(info.params)) parts.push(`${k}=${quote(v)}`);
  return parts.join(' ');
}

// What a pg_* child needs: an environment whose password lives in a private temp pgpass file, and its cleanup.
export interface ChildAuth {
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

// Writes the password to a 0600 pgpass file that only this run uses; argv and the environment never hold it.
export function childAuth(info: ConnInfo, base: NodeJS.ProcessEnv = process.env): ChildAuth {
  const env: NodeJS.ProcessEnv = { ...base, PGAPPNAME: 'pgops' };
  delete env.PGPASSWORD;
  if (!info.password) return { env, cleanup() {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-auth-'));
  const file = path.join(dir, `pgpass-${randomBytes(4).toString('hex')}`);
  const escaped = info.password.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  fs.writeFileSync(file, `*:*:*:*:${escaped}\n`, { mode: 0o600 });
  env.PGPASSFILE = file;
  return {
    env,
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
