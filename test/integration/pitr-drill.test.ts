import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileArchive, startArchivingCluster, type ArchiveRepo } from '../support/archiving.ts';
import { jsonData, runCli, spawnCli } from '../support/cli.ts';
import type { Cluster } from '../support/cluster.ts';
import { switchWal, waitArchived, waitFor } from '../support/wal.ts';
import { silentLogger } from '../../lib/log.ts';
import { integrityRead } from '../../lib/tasks/drill/pitr/integrity.ts';

// pgops drill --pitr on one archiving cluster and a file repository: passes on a healthy chain, fails on a broken one
// (a segment missing from the middle of the archive, a flipped byte in the base tar), and leaves neither a scratch
// folder nor a server behind in any case, SIGTERM included.
const isRoot = process.getuid?.() === 0;
let archive: ArchiveRepo;
let cluster: Cluster;
let systemId: string;
let root: string;
let tmpDir: string;
let assertFile: string;
/** the newest base backup, and an older one whose replay waits an hour at its first commit (recovery_min_apply_delay) */
let backupId: string;
/** segments switched and archived after both base backups */
const after: string[] = [];

type Check = { name: string; status: string; detail?: string };
type Report = { result: string; drillId: string; systemIdentifier: string; backupId: string; target: string; checks: Check[]; rpoMs: number | null; rtoMs: number | null; replay: { lsn: string | null; state: string } | null; integrity: { tables: number; rows: number } | null; scratch: { dir: string; kept: boolean }; error?: string };

const walDir = () => path.join(root, 'wal', systemId);
const drill = (...extra: string[]) => runCli(['drill', '--pitr', '--repo', archive.url, '--tmp-dir', tmpDir, '--json', ...extra]);
const failed = (r: Report) => r.checks.filter((c) => c.status === 'fail');
const check = (r: Report, name: string) => r.checks.find((c) => c.name === name);
const storedReport = (r: Report): Report => JSON.parse(fs.readFileSync(path.join(root, 'drills', `@${systemId}`, `${r.drillId}.json`), 'utf8'));

// What a drill must leave behind: no scratch folder, and no postgres whose command line names one.
function leftovers(): { folders: string[]; servers: string[] } {
  const folders = fs.readdirSync(tmpDir).filter((f) => f.startsWith('pgops-pitr-'));
  const servers: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(`${tmpDir}/pgops-pitr-`)) servers.push(`${pid}: ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return { folders, servers };
}

async function basebackup(...extra: string[]): Promise<string> {
  const r = await runCli(['basebackup', '--db', cluster.url(), '--repo', archive.url, '--json', ...extra]);
  expect(r.exitCode, r.stderr).toBe(0);
  return jsonData(r.stdout).backupId;
}

beforeAll(async () => {
  archive = await fileArchive();
  root = new URL(archive.url).pathname;
  ({ cluster, systemId } = await startArchivingCluster(archive));
  // the server's user must reach the scratch folder
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-pitr-test-'));
  fs.chmodSync(tmpDir, 0o755);
  await cluster.query('CREATE TABLE orders (id int PRIMARY KEY, batch int, note text)');
  // TOASTed values (random, so not compressed inline) that the integrity read must detoast
  await cluster.query(`INSERT INTO orders SELECT g, 0, (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 200)) FROM generate_series(1, 20) g`);
  // the older base backup replays its first later commit only an hour after it was made: a replay that is still
  // running when the SIGTERM test comes, without depending on timing
  await cluster.query(`ALTER SYSTEM SET recovery_min_apply_delay = '1h'`);
  await cluster.query('SELECT pg_reload_conf()');
  await basebackup('--label', 'slow');
  await cluster.query('ALTER SYSTEM RESET recovery_min_apply_delay');
  await cluster.query('SELECT pg_reload_conf()');
  backupId = await basebackup();
  for (const batch of [1, 2, 3]) {
    await cluster.query(`INSERT INTO orders SELECT g, ${batch}, md5(g::text) FROM generate_series(${batch * 1000}, ${batch * 1000 + 99}) g`);
    after.push(await switchWal(cluster));
  }
  await waitArchived(cluster, after[2]);
  assertFile = path.join(archive.workDir, 'asserts.yml');
  fs.writeFileSync(assertFile, '- name: every batch after the base backup was replayed\n  sql: SELECT count(*) FROM orders WHERE batch > 0\n  expect: 300\n');
});

afterAll(async () => {
  await cluster?.stop();
  await archive?.cleanup();
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

describe('drill --pitr', () => {
  it('passes on a healthy chain: replays to the end of the archive, reads every table, checks indexes and assertions', async () => {
    const summary = path.join(archive.workDir, 'step-summary.md');
    const r = await runCli(['drill', '--pitr', '--repo', archive.url, '--tmp-dir', tmpDir, '--json', '--amcheck', '--assert', assertFile, '--max-rpo', '1h', '--max-rto', '1h'], { GITHUB_STEP_SUMMARY: summary });
    const report = jsonData(r.stdout) as Report;
    expect(failed(report), r.stderr).toEqual([]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(report).toMatchObject({ result: 'pass', systemIdentifier: systemId, backupId, target: 'latest', replay: { state: 'promoted' }, scratch: { kept: false } });
    for (const name of ['wal archive', 'base backup', 'recovery target', 'archive end', 'integrity read', 'amcheck (postgres)', 'assertion every batch after the base backup was replayed', 'rpo', 'rto']) {
      expect(check(report, name)?.status, name).toBe('pass');
    }
    expect(check(report, 'archive end')!.detail).toContain(after[2]);
    // the user table and the catalogues were read, every row of orders among them
    expect(report.integrity!.tables).toBeGreaterThan(60);
    expect(report.integrity!.rows).toBeGreaterThan(320);
    expect(report.rpoMs).toBeGreaterThanOrEqual(0);
    expect(report.rtoMs).toBeGreaterThan(0);
    // the report is in drills/@<system>/ as the run printed it
    expect(storedReport(report)).toEqual(report);
    expect(fs.readFileSync(summary, 'utf8')).toContain(`### pgops point-in-time drill: ✅ point-in-time drill of base backup ${backupId} of system ${systemId} to latest PASSED`);
    expect(leftovers()).toEqual({ folders: [], servers: [] });
    // the drill never archived into the repository: no second timeline
    expect(fs.readdirSync(walDir()).filter((f) => f.startsWith('00000002'))).toEqual([]);
  });

  it('is what status grades: the base backup and the passing drill, in the one status line', async () => {
    const r = await runCli(['status', '--repo', archive.url, '--json']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const s = jsonData(r.stdout);
    expect(s.line).toMatch(new RegExp(`^PGOPS STATUS OK - system ${systemId}: newest base backup ${backupId} is .* old; newest passing point-in-time drill \\S+ \\(base backup ${backupId}\\) is .* old \\| '${systemId} basebackup_age'=\\d+s;691200;1382400;0 '${systemId} pitr_drill_age'=\\d+s;691200;1382400;0$`));
    expect(s.systems).toHaveLength(1);
    expect(s.runbook).toEqual([]);
  });

  it('drills to a named target: the restore point the base backup made, without the rows after it', async () => {
    const r = await drill('--target-name', backupId, '--assert', assertFile);
    const report = jsonData(r.stdout) as Report;
    expect(r.exitCode, r.stderr).toBe(2);
    expect(report).toMatchObject({ result: 'fail', target: `name ${backupId}`, backupId, replay: { state: 'promoted' } });
    expect(check(report, 'recovery target')?.status).toBe('pass');
    // the end of the archive is asked of latest only; the rows after the restore point are not there
    expect(check(report, 'archive end')).toBeUndefined();
    expect(failed(report).map((c) => [c.name, c.detail])).toEqual([['assertion every batch after the base backup was replayed', 'expected 300, found 0']]);
    expect(leftovers()).toEqual({ folders: [], servers: [] });
  });

  it('fails naming the segment when one is missing from the middle of the archive', async () => {
    const stash = path.join(archive.workDir, 'stash');
    fs.mkdirSync(stash, { recursive: true });
    for (const f of [after[1], `${after[1]}.json`]) fs.renameSync(path.join(walDir(), f), path.join(stash, f));
    try {
      const r = await drill();
      expect(r.exitCode, r.stderr).toBe(2);
      const report = jsonData(r.stdout) as Report;
      expect(report.result).toBe('fail');
      expect(failed(report).map((c) => c.name)).toEqual(['wal archive']);
      expect(check(report, 'wal archive')!.detail).toContain(`WAL file ${after[1]} is missing`);
      expect(storedReport(report).result).toBe('fail');
    } finally {
      for (const f of [after[1], `${after[1]}.json`]) fs.renameSync(path.join(stash, f), path.join(walDir(), f));
    }
    expect(leftovers()).toEqual({ folders: [], servers: [] });
  });

  it('fails naming the file when a byte of the base tar is flipped, before anything is replayed', async () => {
    const tar = path.join(root, 'basebackups', systemId, backupId, 'base.tar');
    const flip = () => {
      const fd = fs.openSync(tar, 'r+');
      const b = Buffer.alloc(1);
      const at = Math.floor(fs.fstatSync(fd).size / 2);
      fs.readSync(fd, b, 0, 1, at);
      b[0] ^= 0xff;
      fs.writeSync(fd, b, 0, 1, at);
      fs.closeSync(fd);
    };
    flip();
    try {
      const r = await drill();
      expect(r.exitCode, r.stderr).toBe(2);
      const report = jsonData(r.stdout) as Report;
      expect(report.result).toBe('fail');
      expect(failed(report).map((c) => c.name)).toEqual(['base backup']);
      expect(check(report, 'base backup')!.detail).toMatch(/checksum mismatch in .*base\.tar/);
      expect(report.replay).toBeNull();
    } finally {
      flip();
    }
    expect(leftovers()).toEqual({ folders: [], servers: [] });
  });

  it('keeps the scratch folder and its running server with --keep, and says where and how to remove them', async () => {
    const r = await runCli(['drill', '--pitr', '--repo', archive.url, '--tmp-dir', tmpDir, '--keep']);
    const left = leftovers();
    try {
      expect(r.exitCode, r.stderr).toBe(0);
      expect(left.folders).toHaveLength(1);
      expect(left.servers).toHaveLength(1);
      const dir = path.join(tmpDir, left.folders[0]);
      expect(r.stdout).toContain(`scratch folder ${dir} kept (--keep): the server listens on port`);
      expect(r.stdout).toContain(`then rm -rf ${dir}`);
      // what the summary says works: the server answers over the socket in the scratch folder
      const port = /listens on port (\d+)/.exec(r.stdout)![1];
      const client = new pg.Client({ host: dir, port: Number(port), user: 'root', database: 'postgres' });
      await client.connect();
      expect((await client.query('SELECT count(*)::int AS n FROM orders')).rows[0].n).toBe(320);
      await client.end();
    } finally {
      for (const f of left.folders) {
        const data = path.join(tmpDir, f, 'data');
        const pgCtl = path.join(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim(), 'pg_ctl');
        execFileSync(isRoot ? 'runuser' : pgCtl, [...(isRoot ? ['-u', 'postgres', '--', pgCtl] : []), '-D', data, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore' });
        fs.rmSync(path.join(tmpDir, f), { recursive: true, force: true });
      }
    }
  });

  it('stops its server and removes the scratch folder on SIGTERM mid-replay', async () => {
    expect(leftovers()).toEqual({ folders: [], servers: [] });
    const child = spawnCli(['drill', '--pitr', '--repo', archive.url, '--tmp-dir', tmpDir, '--backup', 'label:slow', '--log-format', 'json']);
    // the scratch server's log shows replay; recovery_min_apply_delay holds it at the first later commit
    await waitFor('the drill server to replay WAL', () => {
      const [scratch] = leftovers().folders;
      const log = scratch && path.join(tmpDir, scratch, 'server.log');
      return log && fs.existsSync(log) && /redo starts at/.test(fs.readFileSync(log, 'utf8'));
    }, 120_000);
    expect(leftovers().servers.length).toBeGreaterThan(0);
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain('interrupted by SIGTERM');
    expect(leftovers()).toEqual({ folders: [], servers: [] });
    // the report says the drill could not run to the end
    const reports = fs.readdirSync(path.join(root, 'drills', `@${systemId}`)).map((f) => JSON.parse(fs.readFileSync(path.join(root, 'drills', `@${systemId}`, f), 'utf8')) as Report);
    expect(reports.find((x) => x.result === 'error')?.error).toContain('interrupted by SIGTERM');
  });

  it('lets status warn that the newest point-in-time drill could not run', async () => {
    const r = await runCli(['status', '--repo', archive.url]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^PGOPS STATUS WARNING - system \d+: .*the newest point-in-time drill \S+ \(base backup \S+\) could not run/);
    expect(r.stdout.split('\n').slice(1)).toEqual(['runbook: runbooks/pitr-drill-failed.md', '']);
  });

  it('reads every value: one that cannot be turned into text fails the integrity read naming its table, and the rest is still read', async () => {
    // on the source cluster itself, last: an enum value whose label is gone from pg_enum, as a damaged catalogue
    // leaves it; count(*) still works, reading the row does not
    await cluster.query('CREATE DATABASE broken');
    await cluster.query(`CREATE TYPE mood AS ENUM ('ok', 'lost')`, [], 'broken');
    await cluster.query(`CREATE TABLE docs (id int, m mood)`, [], 'broken');
    await cluster.query(`INSERT INTO docs VALUES (1, 'ok'), (2, 'lost')`, [], 'broken');
    await cluster.query(`DELETE FROM pg_enum WHERE enumtypid = 'mood'::regtype AND enumlabel = 'lost'`, [], 'broken');
    const server = { socketDir: cluster.dir, port: cluster.port, superuser: 'root', maintenanceDb: 'postgres' };
    const r = await integrityRead(server, ['broken', 'postgres'], { statementTimeoutMs: 60_000, log: silentLogger(), signal: new AbortController().signal });
    expect(r.checks[0]).toMatchObject({ name: 'integrity read', status: 'fail' });
    expect(r.checks[0].detail).toMatch(/^1 could not be read; /);
    expect(r.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual(['integrity read', 'table public.docs in broken']);
    expect(r.checks[1].detail).toMatch(/^cannot be read whole: invalid internal value for enum: \d+/);
    // orders in postgres was read all the same
    expect(r.rows).toBeGreaterThanOrEqual(320);
  });
});
