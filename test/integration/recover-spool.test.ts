import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverRunning, stopServer } from '../../lib/tasks/recover/server.ts';
import { fileArchive, startArchivingCluster, type ArchiveRepo } from '../support/archiving.ts';
import { jsonData, runCli, spawnCli } from '../support/cli.ts';
import { freePort, SUPERUSER, type Cluster } from '../support/cluster.ts';
import { serverWritableDir, switchWal, waitArchived, waitFor } from '../support/wal.ts';

// recover --start fetches WAL ahead into <pgdata>/pgops_spool/ while the server replays: restore_command moves a
// spooled file into place, asks the spool for what it lacks, and runs wal fetch only for what the spool cannot answer. Proven on a real cluster archiving with
// pgops wal push: the files came from the spool (wal fetch ran for fewer), the recovered server holds every row, a
// file that does not match its sidecar never reaches PostgreSQL, and the spool folder is gone after success, failure
// and SIGTERM.

const SEGMENT_NAME = /^[0-9A-F]{24}$/;

async function itemsOf(pgdata: string, port: number): Promise<number> {
  const socketDir = fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[4];
  const c = new pg.Client({ host: socketDir, port, user: SUPERUSER, database: 'postgres' });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0].n);
  } finally {
    await c.end();
  }
}

// PostgreSQL's own count of restored segments, and wal fetch's (its debug lines, PGOPS_VERBOSE, in the server log).
function restoresIn(log: string): { byServer: string[]; byWalFetch: string[] } {
  const byServer = [...log.matchAll(/restored log file "([0-9A-F]{24})" from archive/g)].map((m) => m[1]);
  const byWalFetch = [...log.matchAll(/"message":"restored ([0-9A-F]{24}) \(/g)].map((m) => m[1]);
  return { byServer, byWalFetch };
}

describe('recover --start with the spool', () => {
  let archive: ArchiveRepo;
  let cluster: Cluster;
  let systemId: string;
  let root: string;
  let parent: string;
  const after: string[] = [];
  const started: string[] = [];
  let n = 0;
  const newPgdata = () => path.join(parent, `pgdata-${++n}`);
  const recoverArgs = (pgdata: string, port: number, extra: string[] = []) => ['recover', '--repo', archive.url, '--pgdata', pgdata, '--archive-mode', 'off', '--start', '--port', String(port), ...extra];

  beforeAll(async () => {
    archive = await fileArchive();
    root = decodeURIComponent(archive.url.slice('file://'.length));
    parent = serverWritableDir('pgops-spool-');
    ({ cluster, systemId } = await startArchivingCluster(archive));
    cluster.psql(`CREATE TABLE items (id int PRIMARY KEY, batch int); INSERT INTO items SELECT g, 0 FROM generate_series(1, 10) g;`);
    // the older backup (label slow) replays its first later commit only an hour later: a replay still running when
    // SIGTERM comes, without depending on timing
    await cluster.query(`ALTER SYSTEM SET recovery_min_apply_delay = '1h'`);
    await cluster.query('SELECT pg_reload_conf()');
    expect((await runCli(['basebackup', '--db', cluster.url(), '--repo', archive.url, '--label', 'slow'])).exitCode).toBe(0);
    await cluster.query('ALTER SYSTEM RESET recovery_min_apply_delay');
    await cluster.query('SELECT pg_reload_conf()');
    expect((await runCli(['basebackup', '--db', cluster.url(), '--repo', archive.url])).exitCode).toBe(0);
    // six segments after the newest backup, a batch of rows in each
    for (let batch = 1; batch <= 6; batch++) {
      cluster.psql(`INSERT INTO items SELECT g, ${batch} FROM generate_series(${batch * 100}, ${batch * 100 + 9}) g;`);
      after.push(await switchWal(cluster));
    }
    await waitArchived(cluster, after.at(-1)!);
  });

  afterAll(async () => {
    for (const d of started) await stopServer(d, 'postgres').catch(() => {});
    await cluster?.stop();
    await archive?.cleanup();
    if (parent) fs.rmSync(parent, { recursive: true, force: true });
  });

  it('serves the replay from the spool: wal fetch runs only for what the spool lacked, every row is back, the spool is gone', async () => {
    const pgdata = newPgdata();
    const port = await freePort();
    started.push(pgdata);
    const r = await runCli([...recoverArgs(pgdata, port), '--json'], { PGOPS_VERBOSE: '1' });
    expect(r.exitCode, r.stderr).toBe(0);
    const data = jsonData(r.stdout);
    expect(data.recovery).toMatchObject({ reached: true, state: 'promoted' });
    expect(await itemsOf(pgdata, port)).toBe(70);
    const { byServer, byWalFetch } = restoresIn(fs.readFileSync(data.recovery.logFile, 'utf8'));
    // every segment up to the last one switched was restored, each exactly once: from the spool or by wal fetch
    expect(byServer).toContain(after.at(-1));
    expect(data.recovery.spool.served).toBeGreaterThan(0);
    expect(data.recovery.spool.served + byWalFetch.length).toBe(byServer.length);
    expect(byWalFetch.length).toBeLessThan(byServer.length);
    // what recovery asks for beyond the plan's segments (the next timeline's history at the start; the last segment
    // again, the end of the archive and two history files at the end) the spool answered: no wal fetch said "not found"
    expect(data.recovery.spool.answered).toBeGreaterThanOrEqual(4);
    expect(fs.readFileSync(data.recovery.logFile, 'utf8')).not.toContain('"kind":"not-found"');
    expect(r.stderr).toMatch(/"kind":"spool","message":"\d+ of the \d+ WAL files restored came from the spool/);
    expect(fs.existsSync(path.join(pgdata, 'pgops_spool'))).toBe(false);
  });

  it('stops the server and removes the spool on SIGTERM mid-replay, keeping the data directory to resume', async () => {
    const pgdata = newPgdata();
    const port = await freePort();
    started.push(pgdata);
    const child = spawnCli([...recoverArgs(pgdata, port, ['--backup', 'label:slow']), '--log-format', 'json']);
    const spool = path.join(pgdata, 'pgops_spool');
    // recovery_min_apply_delay holds replay at the first commit after the backup; the spool has files ahead by then
    await waitFor('the server to replay with files spooled ahead', () => {
      const log = path.join(pgdata, 'recovery.log');
      if (!fs.existsSync(log) || !/redo starts at/.test(fs.readFileSync(log, 'utf8'))) return false;
      return fs.existsSync(spool) && fs.readdirSync(spool).some((f) => SEGMENT_NAME.test(f));
    }, 120_000);
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain('interrupted by SIGTERM while the server replayed WAL');
    expect(serverRunning(pgdata)).toBe(false);
    expect(fs.existsSync(spool)).toBe(false);
    expect(fs.existsSync(path.join(pgdata, 'recovery.signal'))).toBe(true);
  });

  // last: it damages the archive
  it('never hands PostgreSQL a file that does not match its sidecar: the spool skips it, wal fetch reports the mismatch, the spool is gone', async () => {
    const damaged = after[2];
    const file = path.join(root, 'wal', systemId, damaged);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('damage'), 0, 6, 8192 + 100);
    fs.closeSync(fd);
    const pgdata = newPgdata();
    const port = await freePort();
    started.push(pgdata);
    const r = await runCli([...recoverArgs(pgdata, port), '--json'], { PGOPS_VERBOSE: '1' });
    expect(r.exitCode, r.stderr).toBe(2);
    // the prefetcher's verified write refused it
    expect(r.stderr).toMatch(new RegExp(`${damaged} was not spooled \\(${damaged} in \\S+ does not match its sidecar`));
    const data = jsonData(r.stdout);
    expect(data.recovery.reached).toBe(false);
    const log = fs.readFileSync(data.recovery.logFile, 'utf8');
    expect(log).toContain(`${damaged} in ${archive.url} does not match its sidecar`);
    const { byServer } = restoresIn(log);
    expect(byServer).toContain(after[1]);
    expect(byServer).not.toContain(damaged);
    expect(data.recovery.spool.served).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(pgdata, 'pgops_spool'))).toBe(false);
  });
});
