import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileArchive, startArchivingCluster, type ArchiveRepo } from '../support/archiving.ts';
import { runCli } from '../support/cli.ts';
import type { Cluster } from '../support/cluster.ts';
import { baseBackup, pgopsCommand, recoveryThatStops, startRecovery, switchWal, waitArchived, waitFor, type Recovered } from '../support/wal.ts';

// A segment missing from the middle of the archive must stop an archive recovery (restore_command exits 128, the
// server stops with FATAL), not end it early and promote without the rest of the history; the end of the archive
// still ends the recovery normally.
let archive: ArchiveRepo;
let cluster: Cluster;
let systemId: string;
let base: string;
let root: string;
/** the segments holding batches 1, 2 and 3, switched and archived after the base backup */
const segs: string[] = [];
let recovered: Recovered | undefined;

const walDir = () => path.join(root, 'wal', systemId);
const stash = () => path.join(archive.workDir, 'stash');

beforeAll(async () => {
  archive = await fileArchive();
  root = new URL(archive.url).pathname;
  ({ cluster, systemId } = await startArchivingCluster(archive));
  await cluster.query('CREATE TABLE t (batch int, v text)');
  base = baseBackup(cluster);
  for (const batch of [1, 2, 3]) {
    await cluster.query(`INSERT INTO t SELECT ${batch}, md5(g::text) FROM generate_series(1, 100) g`);
    segs.push(await switchWal(cluster));
  }
  await waitArchived(cluster, segs[2]);
});

afterAll(async () => {
  await recovered?.stop();
  if (base) fs.rmSync(base, { recursive: true, force: true });
  await cluster?.stop();
  await archive?.cleanup();
});

// Moves a segment's data object and sidecar out of the archive (or back), keeping owner and mode.
function moveSegment(name: string, from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const f of [name, `${name}.json`]) fs.renameSync(path.join(from, f), path.join(to, f));
}

// restore_command as the recovered server runs it (in its data directory, as the server user); the recovered server
// never archives into the test's repository.
const recoverySettings = () => ({ restore_command: pgopsCommand('fetch', ['%f', '%p', '--repo', archive.url]), archive_mode: 'off' });

describe('wal fetch and a gap in the archive', () => {
  it('stops the archive recovery with exit 128 naming the missing segment, and the server does not promote', async () => {
    moveSegment(segs[1], walDir(), stash());
    // rejects when the server came up (accepting connections or promoted) instead of stopping
    const log = await recoveryThatStops(base, recoverySettings());
    expect(log).toContain(`WAL file ${segs[1]} is missing from ${archive.url}/wal/${systemId}/ while later files of timeline 1 are archived (first after it: ${segs[2]})`);
    expect(log).toMatch(new RegExp(`FATAL: .*could not restore file "${segs[1]}" from archive: child process exited with exit code 128`));
    expect(log).toContain('"exitCode":128');
    expect(log).not.toContain('selected new timeline ID');
    expect(log).not.toContain('archive recovery complete');
    expect(log).not.toContain('ready to accept connections');
    // the rows of batch 1 were replayed up to the gap: the segment before it was restored
    expect(log).toContain(`restored log file "${segs[0]}" from archive`);
    expect(fs.readdirSync(walDir()).some((f) => f.startsWith('00000002'))).toBe(false);
  });

  it('exits 5 for the same file on a standby and outside recovery, and 128 only in an archive recovery', async () => {
    const dest = path.join(archive.workDir, 'RECOVERYXLOG');
    const fetch = (pgdata: string) => runCli(['wal', 'fetch', segs[1], dest, '--repo', archive.url, '--system-id', systemId, '--pgdata', pgdata]);
    const dirOf = (...signals: string[]) => {
      const d = fs.mkdtempSync(path.join(archive.workDir, 'pgdata-'));
      for (const s of signals) fs.writeFileSync(path.join(d, s), '');
      return d;
    };
    expect((await fetch(dirOf('recovery.signal', 'standby.signal'))).exitCode).toBe(5);
    expect((await fetch(dirOf())).exitCode).toBe(5);
    const r = await fetch(dirOf('recovery.signal'));
    expect(r.exitCode).toBe(128);
    expect(r.stderr).toContain(`WAL file ${segs[1]} is missing`);
    expect(r.stderr).toContain('set a recovery target before it');
    // past the end of the archive is not a gap, in archive recovery too
    const next = `${segs[2].slice(0, 16)}${(parseInt(segs[2].slice(16), 16) + 1).toString(16).toUpperCase().padStart(8, '0')}`;
    expect((await runCli(['wal', 'fetch', next, dest, '--repo', archive.url, '--system-id', systemId, '--pgdata', dirOf('recovery.signal')])).exitCode).toBe(5);
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('resumes once the file is back, and ends normally at the end of the archive with every batch', async () => {
    moveSegment(segs[1], stash(), walDir());
    recovered = await startRecovery(base, recoverySettings());
    // pg_ctl -w returns once the hot standby accepts read-only connections: the end of the recovery comes later
    const server = recovered;
    await waitFor('the recovery to end and the server to promote', async () => !(await server.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0].r);
    const rows = await recovered.query<{ batch: number; n: string }>('SELECT batch, count(*) AS n FROM t GROUP BY batch ORDER BY batch');
    expect(rows.map((r) => [r.batch, Number(r.n)])).toEqual([[1, 100], [2, 100], [3, 100]]);
    const log = recovered.log();
    expect(log).toContain(`restored log file "${segs[2]}" from archive`);
    expect(log).toContain('archive recovery complete');
    expect(log.split('database system is shut down').at(-1)).not.toContain('FATAL');
  });
});
