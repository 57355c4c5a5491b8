import { waitFor as poll } from './process.ts';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { BIN } from './cli.ts';
import { freePort, SUPERUSER, type Cluster } from './cluster.ts';

// Helpers for WAL archiving tests: the command lines PostgreSQL runs, folders the server user can write, synthetic
// segments, and a cluster recovered from a base backup through restore_command.

export const SEGMENT_SIZE = 16 * 1024 * 1024;
const isRoot = process.getuid?.() === 0;

// `node bin/pgops.js wal <words...>` as archive_command or restore_command run it: absolute paths, no quotes needed.
export function pgopsCommand(words: string, args: string[], envPrefix = ''): string {
  return `${envPrefix}${process.execPath} ${BIN} wal ${words} ${args.join(' ')}`.trim();
}

// A temp folder the server user (postgres, when we are root) owns: archive_command writes into it.
export function serverWritableDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  if (isRoot) execFileSync('chown', ['postgres:postgres', dir]);
  return dir;
}

// A file only the server user can read (credentials for archive_command).
export function serverPrivateFile(file: string, content: string): string {
  fs.writeFileSync(file, content, { mode: 0o600 });
  if (isRoot) execFileSync('chown', ['postgres:postgres', file]);
  return file;
}

// waitFor is test/support/process.ts's, polled every 100 ms here
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 30_000): Promise<T> {
  return poll(what, probe, ms, 100);
}

// Ends the current segment (after writing a record, so there is one to end) and returns its name.
export async function switchWal(c: Cluster): Promise<string> {
  await c.query(`SELECT pg_logical_emit_message(false, 'test', 'x')`);
  const [row] = await c.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f');
  return row.f;
}

// Waits until the server's archiver reports the segment (or a later one) archived.
export async function waitArchived(c: Cluster, segment: string, ms = 30_000): Promise<void> {
  await waitFor(`${segment} to be archived`, async () => {
    const [a] = await c.query<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver');
    return a.w !== null && a.w.slice(0, 24) >= segment;
  }, ms);
}

// Sets archive_command (ALTER SYSTEM takes no parameters: the literal is quoted here) and reloads.
export async function setArchiveCommand(c: Cluster, command: string): Promise<void> {
  await c.query(`ALTER SYSTEM SET archive_command = '${command.replace(/'/g, "''")}'`);
  await c.query('SELECT pg_reload_conf()');
  await waitFor('archive_command to be reloaded', async () => (await c.query<{ s: string }>(`SELECT setting AS s FROM pg_settings WHERE name = 'archive_command'`))[0].s === command);
}

// The first bytes of a segment as PostgreSQL writes them (XLogLongPageHeaderData), then filler derived from seed.
export function syntheticSegment(o: { systemId: bigint; timeline: number; segno: number; seed?: string; size?: number }): Buffer {
  const size = o.size ?? SEGMENT_SIZE;
  const buf = Buffer.alloc(size);
  let block = createHash('sha256').update(o.seed ?? 'pgops').digest();
  // compressible like real WAL: a repeating 1 kB pattern per 64 kB
  for (let off = 64; off < size; off += 65536) {
    block = createHash('sha256').update(block).digest();
    for (let i = 0; i < 1024 && off + i * 32 < size; i += 1) block.copy(buf, off + i * 32);
  }
  buf.writeUInt16LE(0xd110, 0);
  buf.writeUInt16LE(0x0002, 2);
  buf.writeUInt32LE(o.timeline, 4);
  buf.writeBigUInt64LE(BigInt(o.segno) * BigInt(size), 8);
  buf.writeBigUInt64LE(o.systemId, 24);
  buf.writeUInt32LE(size, 32);
  buf.writeUInt32LE(8192, 36);
  return buf;
}

// A data directory with only global/pg_control (system identifier, pg_control_version 1300): what wal push and wal
// fetch read when a file carries no header.
export function fakeDataDir(systemId: bigint): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-pgdata-'));
  fs.mkdirSync(path.join(dir, 'global'));
  const control = Buffer.alloc(296);
  control.writeBigUInt64LE(systemId, 0);
  control.writeUInt32LE(1300, 8);
  fs.writeFileSync(path.join(dir, 'global', 'pg_control'), control);
  return dir;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// A TCP server that accepts connections and never answers: a repository endpoint that hangs.
export async function silentServer(): Promise<{ endpoint: string; connected: Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let onConnect!: () => void;
  const connected = new Promise<void>((r) => (onConnect = r));
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onConnect();
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    /** resolves at the first connection: the client is past its start-up and waiting for an answer */
    connected,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function serverBin(): string {
  return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
}

function asServerUser(file: string, args: string[]): void {
  execFileSync(isRoot ? 'runuser' : file, isRoot ? ['-u', 'postgres', '--', file, ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: os.tmpdir() });
}

// A server started from a base backup of `source` (pg_basebackup -X none: every WAL file comes from restore_command).
export interface Recovered {
  dir: string;
  port: number;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string): Promise<T[]>;
  url(database?: string): string;
  log(): string;
  stop(): Promise<void>;
}

// Takes the base backup as the superuser over the source's socket, and waits until pg_basebackup saw its WAL archived.
export function baseBackup(source: Cluster): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-base-'));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  execFileSync(path.join(serverBin(), 'pg_basebackup'), ['-h', source.dir, '-p', String(source.port), '-U', SUPERUSER, '-D', data, '-X', 'none', '-c', 'fast'], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (isRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  fs.chmodSync(data, 0o700);
  return dir;
}

// Appends recovery settings (and a free port) to the base backup in `dir` and puts recovery.signal in place.
async function prepareRecovery(dir: string, settings: Record<string, string>): Promise<{ data: string; port: number; logFile: string; pgCtl: string }> {
  const data = path.join(dir, 'data');
  const port = await freePort();
  const conf = { port: String(port), unix_socket_directories: dir, listen_addresses: '127.0.0.1', ...settings };
  fs.appendFileSync(path.join(data, 'postgresql.conf'), '\n' + Object.entries(conf).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`).join('\n') + '\n');
  fs.writeFileSync(path.join(data, 'recovery.signal'), '');
  if (isRoot) execFileSync('chown', ['postgres:postgres', path.join(data, 'recovery.signal')]);
  return { data, port, logFile: path.join(dir, 'server.log'), pgCtl: path.join(serverBin(), 'pg_ctl') };
}

// Starts the base backup in `dir` for a recovery that must fail: resolves with the server log once the server shut
// itself down, rejects if it came up (accepting connections, or promoted) instead.
export async function recoveryThatStops(dir: string, settings: Record<string, string>, ms = 60_000): Promise<string> {
  const { data, logFile, pgCtl } = await prepareRecovery(dir, settings);
  const logText = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  asServerUser(pgCtl, ['-D', data, '-W', '-l', logFile, 'start']);
  const deadline = Date.now() + ms;
  // the postmaster removes postmaster.pid when it shuts down
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const log = logText();
    if (/database system is ready to accept connections|archive recovery complete/.test(log)) {
      asServerUser(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      throw new Error(`the recovery was expected to stop, and the server came up:\n${log.slice(-3000)}`);
    }
    if (log.includes('database system is shut down') && !fs.existsSync(path.join(data, 'postmaster.pid'))) return log;
  }
  throw new Error(`the recovered server neither stopped nor came up within ${ms} ms:\n${logText().slice(-3000)}`);
}

// A hot standby of `source`, streaming from it (pg_basebackup -R -X stream); resolves once it accepts connections.
export async function startStandby(source: Cluster): Promise<Recovered> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-standby-'));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, 'data');
  execFileSync(path.join(serverBin(), 'pg_basebackup'), ['-h', source.dir, '-p', String(source.port), '-U', SUPERUSER, '-D', data, '-X', 'stream', '-R', '-c', 'fast'], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (isRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  fs.chmodSync(data, 0o700);
  // -R wrote standby.signal and primary_conninfo; startRecovery adds recovery.signal, which standby.signal overrides
  return startRecovery(dir, { hot_standby: 'on' });
}

// Starts the base backup in `dir` with recovery settings appended; resolves once it accepts connections.
export async function startRecovery(dir: string, settings: Record<string, string>): Promise<Recovered> {
  const { data, port, logFile, pgCtl } = await prepareRecovery(dir, settings);
  // -w waits until the server accepts connections, or until it gave up (recovery failed)
  try {
    asServerUser(pgCtl, ['-D', data, '-w', '-t', '120', '-l', logFile, 'start']);
  } catch (err) {
    throw new Error(`recovered server did not start: ${fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-3000) : (err as Error).message}`);
  }
  const client = new pg.Client({ host: dir, port, user: SUPERUSER, database: 'postgres' });
  client.on('error', () => {});
  await client.connect();
  return {
    dir,
    port,
    query: async (sql) => (await client.query(sql)).rows,
    url: (database = 'postgres') => `postgresql://${SUPERUSER}@127.0.0.1:${port}/${database}`,
    log: () => fs.readFileSync(logFile, 'utf8'),
    async stop() {
      await client.end().catch(() => {});
      try {
        asServerUser(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
