import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../lib/free-port.ts';

// A throwaway PostgreSQL cluster: initdb in a temp folder, a free port on 127.0.0.1, removed by stop().
export interface Cluster {
  port: number;
  dir: string;
  /** URL of a database on this cluster as the superuser (root by default) */
  url(database?: string, user?: string, password?: string): string;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], database?: string): Promise<T[]>;
  /** runs SQL through psql (several statements, COPY, \ commands) */
  psql(sql: string, database?: string): string;
  stop(): Promise<void>;
}

export const SUPERUSER = 'root';

// The folder of the server programs (initdb, pg_ctl, pg_verifybackup, pg_waldump): PATH, else pg_config's, else Debian's.
export function binDir(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    // a folder of links to the programs (/usr/local/bin here) holds only some of them: the links' own folder has all
    if (fs.existsSync(path.join(dir, 'pg_ctl')) && fs.existsSync(path.join(dir, 'postgres'))) return path.dirname(fs.realpathSync(path.join(dir, 'pg_ctl')));
  }
  const out = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (out.status === 0) return out.stdout.trim();
  const debian = fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').sort().reverse() : [];
  if (debian.length) return `/usr/lib/postgresql/${debian[0]}/bin`;
  throw new Error('PostgreSQL server binaries not found: apt-get install postgresql-15 (or run .ci/run)');
}

// the tests' clusters take their ports as the drill's throwaway server does
export { freePort } from '../../lib/free-port.ts';

const isRoot = process.getuid?.() === 0;

// Runs a server program as postgres when we are root (initdb refuses root).
function runAsServerUser(file: string, args: string[], opts: { cwd?: string } = {}): void {
  const cmd = isRoot ? 'runuser' : file;
  const argv = isRoot ? ['-u', 'postgres', '--', file, ...args] : args;
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd ?? os.tmpdir() });
}

export interface ClusterOptions {
  /** extra postgresql.conf lines */
  settings?: Record<string, string | number>;
  /** also allow password logins (scram) for TCP connections of these users */
  passwordUsers?: boolean;
  /** start from a copy of this stopped data directory instead of a fresh initdb (its superuser must be root) */
  fromData?: string;
}

// Refuses what cannot be copied into a working cluster, before any temp folder exists.
function checkStoppedDataDir(from: string): void {
  if (!fs.existsSync(path.join(from, 'PG_VERSION'))) throw new Error(`fromData: ${from} is not a PostgreSQL data directory (no PG_VERSION)`);
  // a copy of a running cluster's files is torn and would start only as a crash recovery, if at all
  if (fs.existsSync(path.join(from, 'postmaster.pid'))) throw new Error(`fromData: ${from} belongs to a running server (postmaster.pid exists); stop it first (pg_ctl -D ${from} stop)`);
}

// Starts a fresh cluster, or one on a copy of opts.fromData; call stop() in afterAll (it removes the copy too).
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const bin = binDir();
  if (opts.fromData) checkStoppedDataDir(opts.fromData);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-pg-'));
  fs.chmodSync(dir, 0o755);
  if (isRoot) execFileSync('chown', ['postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  // cp -a keeps the copy owned by postgres and mode 0700, as the server insists
  if (opts.fromData) execFileSync('cp', ['-a', opts.fromData, data]);
  else runAsServerUser(path.join(bin, 'initdb'), ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N']);
  const port = await freePort();
  const conf = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${dir}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'max_connections = 50',
    ...Object.entries(opts.settings ?? {}).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v}'`}`),
  ];
  fs.appendFileSync(path.join(data, 'postgresql.conf'), '\n' + conf.join('\n') + '\n');
  if (opts.passwordUsers) {
    const hba = path.join(data, 'pg_hba.conf');
    const lines = fs.readFileSync(hba, 'utf8');
    fs.writeFileSync(hba, `host all all 127.0.0.1/32 scram-sha-256\nlocal all all trust\n` + lines.replace(/^host.*127\.0\.0\.1\/32.*$/m, ''));
  }
  runAsServerUser(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-l', path.join(dir, 'server.log'), 'start']);

  const url = (database = 'postgres', user = SUPERUSER, password?: string) =>
    `postgresql://${encodeURIComponent(user)}${password ? ':' + encodeURIComponent(password) : ''}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const clients = new Map<string, pg.Client>();
  const clientFor = async (database: string) => {
    let c = clients.get(database);
    if (!c) {
      // the superuser connects over the socket, so password-only TCP rules do not get in its way
      c = new pg.Client({ host: dir, port, user: SUPERUSER, database });
      c.on('error', () => {});
      await c.connect();
      clients.set(database, c);
    }
    return c;
  };

  return {
    port,
    dir,
    url,
    async query(sql, params, database = 'postgres') {
      const c = await clientFor(database);
      return (await c.query(sql, params)).rows;
    },
    psql(sql, database = 'postgres') {
      return execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', SUPERUSER, '-d', database], {
        input: sql,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    },
    async stop() {
      for (const c of clients.values()) await c.end().catch(() => {});
      try {
        runAsServerUser(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
