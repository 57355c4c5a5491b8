import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgopsError } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import { runRecovery, serverRunning, stopServer } from '../../lib/tasks/recover/server.ts';
import { parseWalFileName, segmentName, segmentNumber } from '../../lib/wal/names.ts';
import { fileArchive, s3Archive, startArchivingCluster, type ArchiveRepo } from '../support/archiving.ts';
import { jsonData, runCli } from '../support/cli.ts';
import { freePort, SUPERUSER, type Cluster } from '../support/cluster.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';
import { serverWritableDir, startStandby, switchWal, waitArchived, waitFor, type Recovered } from '../support/wal.ts';

// pgops recover against real clusters archiving with pgops wal push and real base backups from pgops basebackup:
// recovered to a time, a restore point, an LSN, immediate and latest, each server holds exactly the rows it must;
// the data directory belongs to the server's user; a damaged backup, a used data directory and impossible targets
// are refused before anything is laid down.

const isRoot = process.getuid?.() === 0;
const SEGMENT = 16 * 1024 * 1024;
const postgresUid = isRoot ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()) : process.getuid!();

type Row = { id: number; batch: string };

// Rows of the recovered server, over the socket its postmaster.pid names (the folder the source's configuration
// gave it).
async function rowsOf(pgdata: string, port: number): Promise<Row[]> {
  return query<Row>(pgdata, port, 'SELECT id, batch FROM items ORDER BY id');
}

async function query<T extends pg.QueryResultRow>(pgdata: string, port: number, sql: string): Promise<T[]> {
  const socketDir = fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[4];
  const c = new pg.Client({ host: socketDir, port, user: SUPERUSER, database: 'postgres' });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

const batches = (rows: Row[]) => [...new Set(rows.map((r) => r.batch))];

// Flips the byte in the middle of a stored file; restore() puts it back.
function flipMiddleByte(file: string): { restore(): void } {
  const at = Math.floor(fs.statSync(file).size / 2);
  const fd = fs.openSync(file, 'r+');
  const byte = Buffer.alloc(1);
  try {
    fs.readSync(fd, byte, 0, 1, at);
    fs.writeSync(fd, Buffer.from([byte[0] ^ 0xff]), 0, 1, at);
  } finally {
    fs.closeSync(fd);
  }
  return {
    restore() {
      const back = fs.openSync(file, 'r+');
      try {
        fs.writeSync(back, byte, 0, 1, at);
      } finally {
        fs.closeSync(back);
      }
    },
  };
}

describe('pgops recover from a file repository', () => {
  let archive: ArchiveRepo;
  let cluster: Cluster;
  let systemId: string;
  let root: string;
  let parent: string;
  let backupId: string;
  let noted: { time: string; lsn: string };
  const started: string[] = [];
  let n = 0;
  const newPgdata = () => path.join(parent, `pgdata-${++n}`);
  const recover = (pgdata: string, args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['recover', '--repo', archive.url, '--pgdata', pgdata, '--archive-mode', 'off', '--json', ...args], env);
  // --start, and the server is stopped by afterAll
  const recoverStarted = async (args: string[]) => {
    const pgdata = newPgdata();
    const port = await freePort();
    started.push(pgdata);
    const r = await recover(pgdata, [...args, '--start', '--port', String(port)]);
    return { r, pgdata, port };
  };

  beforeAll(async () => {
    archive = await fileArchive();
    root = decodeURIComponent(archive.url.slice('file://'.length));
    parent = serverWritableDir('pgops-recover-');
    // full_page_writes on (the harness turns it off): a standby refuses a base backup of WAL written without it
    ({ cluster, systemId } = await startArchivingCluster(archive, { settings: { full_page_writes: 'on' } }));
    cluster.psql(`CREATE TABLE items (id int PRIMARY KEY, batch text); INSERT INTO items SELECT g, 'base' FROM generate_series(1, 3) g;`);
    const b = await runCli(['basebackup', '--db', cluster.url(), '--repo', archive.url, '--json']);
    expect(b.exitCode, b.stderr).toBe(0);
    backupId = jsonData(b.stdout).backupId;
    // batch A, the noted moment (the server's clock) and position, a restore point, batch B; all archived
    cluster.psql(`INSERT INTO items SELECT g, 'A' FROM generate_series(11, 20) g;`);
    // the insert position: with synchronous_commit off, pg_current_wal_lsn() (the write position) may lie before
    // A's commit record
    const [t] = await cluster.query<{ time: string; lsn: string }>(`SELECT pg_sleep(0.05), clock_timestamp()::text AS time, pg_current_wal_insert_lsn()::text AS lsn`);
    noted = t;
    await cluster.query(`SELECT pg_sleep(0.05), pg_create_restore_point('before-b')`);
    cluster.psql(`INSERT INTO items SELECT g, 'B' FROM generate_series(21, 30) g;`);
    await waitArchived(cluster, await switchWal(cluster));
  });

  afterAll(async () => {
    for (const d of started) await stopServer(d, 'postgres').catch(() => {});
    await cluster?.stop();
    await archive?.cleanup();
    if (parent) fs.rmSync(parent, { recursive: true, force: true });
  });

  it('recovers to a noted time: exactly the rows committed before it', async () => {
    const { r, pgdata, port } = await recoverStarted(['--target-time', noted.time]);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const data = jsonData(r.stdout);
    expect(data.backup.id).toBe(backupId);
    expect(data.recovery).toMatchObject({ reached: true, state: 'promoted', timeline: 2 });
    expect(data.recovery.stopping).toMatch(/recovery stopping before commit of transaction \d+/);
    expect(data.recovery.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(new Date(data.recovery.lastTransactionTime).getTime()).toBeLessThanOrEqual(new Date(noted.time).getTime());
    expect(batches(await rowsOf(pgdata, port))).toEqual(['base', 'A']);
  });

  it('recovers to a restore point, an LSN, and immediate (only what the base backup held)', async () => {
    // paused at the target: read-only, to look first
    const point = await recoverStarted(['--target-name', 'before-b', '--target-action', 'pause']);
    expect(point.r.exitCode, point.r.stderr).toBe(0);
    const paused = jsonData(point.r.stdout).recovery;
    expect(paused).toMatchObject({ reached: true, state: 'paused', timeline: 1 });
    expect(paused.stopping).toMatch(/recovery stopping at restore point "before-b"/);
    expect(paused.lsn).toMatch(/^0\/[0-9A-F]+$/);
    expect(batches(await rowsOf(point.pgdata, point.port))).toEqual(['base', 'A']);
    expect((await query<{ r: boolean }>(point.pgdata, point.port, 'SELECT pg_is_in_recovery() AS r'))[0].r).toBe(true);

    const lsn = await recoverStarted(['--target-lsn', noted.lsn]);
    expect(lsn.r.exitCode, lsn.r.stderr).toBe(0);
    expect(batches(await rowsOf(lsn.pgdata, lsn.port))).toEqual(['base', 'A']);

    const immediate = await recoverStarted(['--target', 'immediate']);
    expect(immediate.r.exitCode, immediate.r.stderr).toBe(0);
    expect(jsonData(immediate.r.stdout).recovery.stopping).toBe('recovery stopping after reaching consistency');
    expect(await rowsOf(immediate.pgdata, immediate.port)).toEqual([1, 2, 3].map((id) => ({ id, batch: 'base' })));
  });

  it('shuts down at the target with --target-action shutdown, saying where replay stopped', async () => {
    const { r, pgdata } = await recoverStarted(['--target', 'immediate', '--target-action', 'shutdown']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonData(r.stdout).recovery).toMatchObject({ reached: true, state: 'shut down', timeline: 1, lsn: expect.stringMatching(/^0\/[0-9A-F]+$/) });
    expect(serverRunning(pgdata)).toBe(false);
  });

  it('recovers to the end of the archive as the server user, who owns every file and ran restore_command', async () => {
    const { r, pgdata, port } = await recoverStarted([]);
    expect(r.exitCode, r.stderr).toBe(0);
    const data = jsonData(r.stdout);
    expect(data.target).toBe('latest');
    expect(data.recovery).toMatchObject({ reached: true, state: 'promoted' });
    expect(batches(await rowsOf(pgdata, port))).toEqual(['base', 'A', 'B']);
    // every file and folder belongs to postgres, and the postmaster runs as postgres
    const owners = new Set(execFileSync('find', [pgdata, '-printf', '%U\\n'], { encoding: 'utf8' }).trim().split('\n').map(Number));
    expect([...owners]).toEqual([postgresUid]);
    const pid = Number(fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(fs.readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${postgresUid}\\s`, 'm'));
    const log = fs.readFileSync(data.recovery.logFile, 'utf8');
    expect(log).toMatch(/restored log file "[0-9A-F]{24}" from archive/);
    const auto = fs.readFileSync(path.join(pgdata, 'postgresql.auto.conf'), 'utf8');
    expect(auto).toContain(`# added by pgops recover from base backup ${backupId}`);
    // --start: the spool first (spool.ts), then wal fetch
    expect(auto).toMatch(new RegExp(`restore_command = 'f=${pgdata}/pgops_spool/%f; .* fi; exec ${process.execPath} \\S+/bin/pgops.js wal fetch %f %p --repo ${archive.url} --system-id ${systemId}'`));
    expect(fs.existsSync(path.join(pgdata, 'recovery.signal'))).toBe(false); // consumed by the promotion
  });

  it('without --start, lays the backup down and prints the exact command that starts it', async () => {
    const pgdata = newPgdata();
    const r = await recover(pgdata, ['--target-lsn', noted.lsn]);
    expect(r.exitCode, r.stderr).toBe(0);
    const data = jsonData(r.stdout);
    expect(data.started).toBe(false);
    expect(data.startCommand).toBe(`${isRoot ? 'runuser -u postgres -- ' : ''}/usr/lib/postgresql/15/bin/pg_ctl -D ${pgdata} -l ${pgdata}/recovery.log start`);
    expect(fs.existsSync(path.join(pgdata, 'recovery.signal'))).toBe(true);
    expect(fs.readFileSync(path.join(pgdata, 'postgresql.auto.conf'), 'utf8')).toContain(`recovery_target_lsn = '${noted.lsn}'`);
    expect(fs.statSync(pgdata).mode & 0o777).toBe(0o700);
    // the printed command works as printed
    started.push(pgdata);
    const port = await freePort();
    execFileSync('sh', ['-c', data.startCommand.replace(' start', ` -w -o '-p ${port}' start`)], { stdio: 'pipe' });
    // pg_ctl -w returns once the server takes (read-only) connections, which may be before replay reached the target
    await waitFor('the started server to promote', async () => (await query<{ r: boolean }>(pgdata, port, 'SELECT pg_is_in_recovery() AS r').catch(() => [{ r: true }]))[0].r === false, 60_000);
    expect(batches(await rowsOf(pgdata, port))).toEqual(['base', 'A']);
  });

  it('refuses a non-empty data directory and the data directory of the running source, touching nothing', async () => {
    const used = newPgdata();
    fs.mkdirSync(used);
    fs.writeFileSync(path.join(used, 'keep.txt'), 'mine');
    const r = await recover(used, []);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/is not empty \(1 entries: keep\.txt\)/);
    expect(fs.readdirSync(used)).toEqual(['keep.txt']);

    const live = path.join(cluster.dir, 'data');
    const before = fs.readdirSync(live).sort();
    const l = await recover(live, []);
    expect(l.exitCode).toBe(3);
    expect(l.stderr).toMatch(/is the data directory of a running server/);
    expect(fs.readdirSync(live).sort()).toEqual(before);
  });

  it('refuses a target past the end of the archive, and one before the end of the --backup given', async () => {
    const far = newPgdata();
    const r = await recover(far, ['--target-lsn', 'FF/0']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/lies past the end of the archive: the archive ends with [0-9A-F]{24} \(up to [0-9A-F]+\/[0-9A-F]+000000\), archived at/);
    expect(r.stderr).toMatch(/pg_switch_wal\(\)/);
    expect(fs.existsSync(far)).toBe(false);

    const early = newPgdata();
    const e = await recover(early, ['--backup', backupId, '--target-time', '2000-01-01 00:00:00+00']);
    expect(e.exitCode).toBe(3);
    expect(e.stderr).toMatch(new RegExp(`base backup ${backupId} became consistent at [0-9A-F]+/[0-9A-F]+ \\(.*\\), after the recovery target time 2000-01-01 00:00:00\\+00`));
    expect(fs.existsSync(early)).toBe(false);

    const two = await recover(newPgdata(), ['--target', 'immediate', '--target-lsn', noted.lsn]);
    expect(two.exitCode).toBe(3);
    expect(two.stderr).toMatch(/one target, and --target immediate and --target-lsn were given/);
  });

  it('recovers a base backup taken from a streaming standby', async () => {
    let standby: Recovered | undefined;
    try {
      standby = await startStandby(cluster);
      cluster.psql(`INSERT INTO items SELECT g, 'S' FROM generate_series(31, 35) g;`);
      // the standby does not switch WAL: the primary does, until the backup's stop segment reached the archive
      const taking = runCli(['basebackup', '--db', standby.url(), '--repo', archive.url, '--json']);
      let done = false;
      void taking.finally(() => (done = true));
      while (!done) {
        await switchWal(cluster);
        await new Promise((r) => setTimeout(r, 200));
      }
      const b = await taking;
      expect(b.exitCode, b.stderr).toBe(0);
      const standbyBackup = jsonData(b.stdout).backupId;
      const { r, pgdata, port } = await recoverStarted(['--backup', standbyBackup]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(jsonData(r.stdout).backup.fromStandby).toBe(true);
      expect(r.stderr).toMatch(/standby\.signal was removed, this is an archive recovery/);
      expect(fs.existsSync(path.join(pgdata, 'standby.signal'))).toBe(false);
      expect(batches(await rowsOf(pgdata, port))).toEqual(['base', 'A', 'B', 'S']);
    } finally {
      await standby?.stop();
    }
  });

  it('fails (exit 2) when replay ends before the target, stopping the server and keeping the data directory', async () => {
    const { r, pgdata } = await recoverStarted(['--backup', backupId, '--target-xid', '4000000000']);
    expect(r.exitCode).toBe(2);
    const data = jsonData(r.stdout);
    expect(data.recovery).toMatchObject({ reached: false, state: 'failed' });
    expect(data.recovery.reason).toMatch(/recovery ended before configured recovery target was reached/);
    expect(r.stderr).toMatch(/the data directory .* stays for investigation/);
    expect(serverRunning(pgdata)).toBe(false);
    expect(fs.existsSync(path.join(pgdata, 'PG_VERSION'))).toBe(true);
  });

  describe('while replay waits for a WAL file that never arrives', () => {
    // laid down first, then the first segment after the backup's consistency point is replaced by a FIFO: wal fetch
    // blocks opening it, so replay cannot end, whatever the timing (runRecovery is what recover --start and drill
    // --pitr run after the lay-down)
    let segmentFile: string;
    const aside = () => `${segmentFile}.aside`;
    const laid: string[] = [];
    const replay = async (pgdata: string, over: { timeoutMs?: number; signal?: AbortSignal }) =>
      runRecovery({ pgdata, port: await freePort(), osUser: 'postgres', action: 'promote', target: { kind: 'latest' }, timeoutMs: over.timeoutMs ?? 600_000, signal: over.signal ?? new AbortController().signal, env: { PATH: process.env.PATH }, log: silentLogger() });
    beforeAll(async () => {
      for (let i = 0; i < 2; i += 1) {
        const pgdata = newPgdata();
        const r = await recover(pgdata, ['--backup', backupId]);
        expect(r.exitCode, r.stderr).toBe(0);
        laid.push(pgdata);
        started.push(pgdata);
      }
      const m = JSON.parse(fs.readFileSync(path.join(root, 'basebackups', systemId, backupId, 'manifest.json'), 'utf8'));
      const next = segmentName(1, segmentNumber(parseWalFileName(m.wal.last)!, SEGMENT)! + 1, SEGMENT);
      segmentFile = path.join(root, 'wal', systemId, next);
      fs.renameSync(segmentFile, aside());
      execFileSync('mkfifo', ['-m', '0644', segmentFile]);
    });
    afterAll(() => {
      // a wal fetch still blocked on the FIFO reads its end and exits
      try {
        fs.closeSync(fs.openSync(segmentFile, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
      } catch {
        // no reader left
      }
      fs.rmSync(segmentFile, { force: true });
      fs.renameSync(aside(), segmentFile);
    });

    it('gives up after the recovery timeout, stopping the server', async () => {
      const end = await replay(laid[0], { timeoutMs: 3000 });
      expect(end).toMatchObject({ reached: false, state: 'failed' });
      expect(end.reason).toMatch(/did not reach latest within 3\.0s \(--recovery-timeout\): the server was stopped/);
      expect(serverRunning(laid[0])).toBe(false);
    });

    it('stops the server when interrupted and says the data directory stays', async () => {
      const controller = new AbortController();
      const log = path.join(laid[1], 'recovery.log');
      const ending = replay(laid[1], { signal: controller.signal });
      ending.catch(() => {});
      // the server runs and replays: the log shows its first restored file
      await waitFor('replay to begin', () => fs.existsSync(log) && /restored log file/.test(fs.readFileSync(log, 'utf8')), 60_000);
      controller.abort(new PgopsError('interrupted by SIGTERM'));
      await expect(ending).rejects.toThrow(/interrupted by SIGTERM while the server replayed WAL: it was stopped; the data directory .* stays/);
      expect(serverRunning(laid[1])).toBe(false);
      expect(fs.existsSync(path.join(laid[1], 'recovery.signal'))).toBe(true);
    });
  });

  it('refuses a base backup with a flipped byte, naming its checksum, and leaves nothing laid down', async () => {
    const flipped = flipMiddleByte(path.join(root, 'basebackups', systemId, backupId, 'base.tar'));
    try {
      const pgdata = newPgdata();
      const r = await recover(pgdata, ['--backup', backupId]);
      expect(r.exitCode).toBe(6);
      expect(r.stderr).toMatch(new RegExp(`checksum mismatch in basebackups/${systemId}/${backupId}/base.tar: the manifest lists sha256 [0-9a-f]{64} .* the stored file has [0-9a-f]{64}`));
      expect(fs.existsSync(pgdata)).toBe(false);
      const empty = newPgdata();
      fs.mkdirSync(empty);
      expect((await recover(empty, ['--backup', backupId])).exitCode).toBe(6);
      expect(fs.readdirSync(empty)).toEqual([]);
    } finally {
      flipped.restore();
    }
  });

  // last in this file's order: a newer base backup, which --target latest would choose
  it('lays down a compressed base backup read in place, checking the stored tar as it reads, and refuses one whose bytes were flipped', async () => {
    const b = await runCli(['basebackup', '--db', cluster.url(), '--repo', archive.url, '--compress', 'gzip', '--json']);
    expect(b.exitCode, b.stderr).toBe(0);
    const id = jsonData(b.stdout).backupId as string;
    const pgdata = newPgdata();
    const r = await recover(pgdata, ['--backup', id, '--target', 'immediate']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(pgdata, 'PG_VERSION'), 'utf8').trim()).toBe('15');
    flipMiddleByte(path.join(root, 'basebackups', systemId, id, 'base.tar.gz'));
    const damaged = newPgdata();
    const d = await recover(damaged, ['--backup', id, '--target', 'immediate']);
    expect(d.exitCode).toBe(6);
    // the stored file's sum names the cause, not the decompressor's complaint
    expect(d.stderr).toMatch(new RegExp(`checksum mismatch in basebackups/${systemId}/${id}/base.tar.gz: the manifest lists sha256 [0-9a-f]{64}`));
    expect(fs.existsSync(damaged)).toBe(false);
  });
});

describe.each(S3_SERVERS)('pgops recover from an S3 repository on $name', ({ start }) => {
  let s3: S3Server;
  let archive: ArchiveRepo;
  let cluster: Cluster;
  let parent: string;
  let pgdata: string | undefined;
  let saved: Record<string, string | undefined> | undefined;

  beforeAll(async () => {
    s3 = await start();
    archive = await s3Archive(s3, 'recover');
    parent = serverWritableDir('pgops-recover-s3-');
    ({ cluster } = await startArchivingCluster(archive));
    // the SDK of in-process runs reads credentials from process.env; set once the cluster runs, so that its
    // archive_command keeps reading them from its credentials file. The recovered server gets them from the run's
    // environment (archive.env), which recover hands to it
    saved = Object.fromEntries(Object.keys(s3.env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, s3.env);
  });

  afterAll(async () => {
    for (const [k, v] of Object.entries(saved ?? {})) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (pgdata) await stopServer(pgdata, 'postgres').catch(() => {});
    await cluster?.stop();
    await archive?.cleanup();
    await s3?.stop();
    if (parent) fs.rmSync(parent, { recursive: true, force: true });
  });

  it('recovers to the end of the archive, the credentials reaching restore_command through the environment only', async () => {
    cluster.psql(`CREATE TABLE items (id int PRIMARY KEY, batch text); INSERT INTO items SELECT g, 'base' FROM generate_series(1, 3) g;`);
    const b = await runCli(['basebackup', '--db', cluster.url(), '--repo', archive.url, '--compress', 'zstd', '--json'], archive.env);
    expect(b.exitCode, b.stderr).toBe(0);
    cluster.psql(`INSERT INTO items SELECT g, 'A' FROM generate_series(11, 20) g;`);
    await waitArchived(cluster, await switchWal(cluster));

    pgdata = path.join(parent, 'pgdata');
    const port = await freePort();
    const r = await runCli(['recover', '--repo', archive.url, '--pgdata', pgdata, '--archive-mode', 'off', '--start', '--port', String(port), '--json'], archive.env);
    expect(r.exitCode, r.stderr).toBe(0);
    const data = jsonData(r.stdout);
    expect(data.recovery).toMatchObject({ reached: true, state: 'promoted' });
    expect(batches(await rowsOf(pgdata, port))).toEqual(['base', 'A']);
    expect(fs.readFileSync(data.recovery.logFile, 'utf8')).toMatch(/restored log file "[0-9A-F]{24}" from archive/);
    const auto = fs.readFileSync(path.join(pgdata, 'postgresql.auto.conf'), 'utf8');
    expect(auto).toContain(`--s3-endpoint ${s3.endpoint}`);
    expect(auto).not.toContain(s3.env.AWS_SECRET_ACCESS_KEY);
    expect(auto).not.toContain(s3.env.AWS_ACCESS_KEY_ID);
    // the staging folder beside the data directory is gone
    expect(fs.readdirSync(parent).filter((e) => e.startsWith('.pgops-recover-'))).toEqual([]);
  });
});
