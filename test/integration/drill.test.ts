import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli, spawnCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { initTestRepo } from '../support/repo.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';

// Restore drills: restore onto another cluster and prove the content matches what was dumped.
const DB = 'shop ü';
let source: Cluster;
let drillServer: Cluster;
let dir: string;
const s3Env = (s3: S3Server) => ({ ...s3.env, PGOPS_S3_ENDPOINT: s3.endpoint, PGOPS_S3_PATH_STYLE: 'true', PGOPS_S3_CHECKSUM: 'when-required' });

async function backup(repo: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []): Promise<{ backupId: string; manifest: string }> {
  const r = await runCli(['backup', '--db', source.url(DB), '--repo', repo, '--json', '--fingerprint', 'hash', ...extra], env);
  expect(r.exitCode, r.stderr).toBe(0);
  return jsonData(r.stdout);
}

const drillArgs = (repo: string) => ['drill', '--repo', repo, '--db', DB, '--target', drillServer.url('postgres'), '--json'];
const scratchDbs = async () => (await drillServer.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'pgops_drill_%'`)).map((r) => r.datname);
const failed = (report: { checks: { name: string; status: string; detail?: string }[] }) => report.checks.filter((c) => c.status === 'fail');

beforeAll(async () => {
  [source, drillServer] = await Promise.all([startCluster(), startCluster()]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-drill-'));
  await source.query(`CREATE DATABASE "${DB}"`);
  source.psql(fs.readFileSync(new URL('../support/fixtures/tricky.sql', import.meta.url), 'utf8'), DB);
});

afterAll(async () => {
  await Promise.all([source?.stop(), drillServer?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a drill from a file repository', () => {
  beforeAll(() => initTestRepo(`file://${dir}/pass-file`));
  passingDrill('file', () => ({ repo: `file://${dir}/pass-file`, env: {} }));
});

describe.each(S3_SERVERS)('a drill from an s3 repository on $name', ({ name, start }) => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await start();
    Object.assign(process.env, s3.env);
    await initTestRepo(s3.repoUrl('pass'), s3.options);
  });
  afterAll(() => s3?.stop());
  passingDrill(name, () => ({ repo: s3.repoUrl('pass'), env: s3Env(s3) }));
});

// A passing drill from one repository; kind names the files it leaves in dir.
function passingDrill(kind: string, repoOf: () => { repo: string; env: NodeJS.ProcessEnv }): void {
  it('passes on the tricky schema restored onto another cluster, stores its report and drops the scratch database', async () => {
    const { repo, env } = repoOf();
    const b = await backup(repo, env);
    const assertFile = path.join(dir, `ok-${kind}.yml`);
    fs.writeFileSync(assertFile, `- name: fifty accounts\n  sql: SELECT count(*) FROM public.accounts\n  expect: 50\n- name: no negative balances\n  sql: SELECT 1 FROM public.accounts WHERE balance < 0\n  rows: 0\n`);
    const summary = path.join(dir, `summary-${kind}.md`);
    const r = await runCli([...drillArgs(repo), '--assert', assertFile, '--amcheck', '--max-rpo', '1h', '--max-rto', '10m'], { ...env, GITHUB_STEP_SUMMARY: summary });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const report = jsonData(r.stdout);
    expect(report).toMatchObject({ result: 'pass', backupId: b.backupId, database: DB, kept: false });
    expect(failed(report)).toEqual([]);
    const names = report.checks.map((c: { name: string }) => c.name);
    for (const n of ['checksums', 'restore', 'tables', 'inventory indexes', 'inventory policies', 'inventory large objects', 'sequences', 'amcheck', 'assertion fifty accounts', 'rpo', 'rto']) expect(names).toContain(n);
    expect(report.checks.find((c: { name: string }) => c.name === 'tables').detail).toBe('9 of 9 tables match (row count and content hash of every column)');
    expect(report.rtoMs).toBeGreaterThan(0);
    expect(await scratchDbs()).toEqual([]);
    // the evidence is in the repository, and the step summary has a table of checks
    const list = await runCli(['status', '--repo', repo, '--db', DB, '--json'], env);
    expect(jsonData(list.stdout).status).toBe('OK');
    expect(fs.readFileSync(summary, 'utf8')).toMatch(/pgops restore drill: ✅[\s\S]*\| ✅ \| tables \|/);
  });
}

describe('a failing drill', () => {
  const repoDir = () => path.join(dir, 'failing');
  const repo = () => `file://${repoDir()}`;
  let manifestPath: string;
  let original: string;

  beforeAll(async () => {
    await initTestRepo(repo());
    const b = await backup(repo());
    manifestPath = path.join(repoDir(), b.manifest);
    original = fs.readFileSync(manifestPath, 'utf8');
  });

  const editManifest = (edit: (m: { fingerprints: { tables: { schema: string; name: string; rows: number; hash: string }[] } }) => void) => {
    const m = JSON.parse(original);
    edit(m);
    fs.writeFileSync(manifestPath, JSON.stringify(m));
  };

  it('names the table whose row count disagrees with the manifest', async () => {
    editManifest((m) => {
      m.fingerprints.tables.find((t) => t.name === 'accounts')!.rows = 51;
    });
    const r = await runCli(drillArgs(repo()));
    fs.writeFileSync(manifestPath, original);
    expect(r.exitCode).toBe(2);
    const report = jsonData(r.stdout);
    expect(report.result).toBe('fail');
    expect(failed(report).map((c: { name: string; detail?: string }) => `${c.name}: ${c.detail}`)).toEqual([
      'tables: 8 of 9 tables match (row count and content hash of every column)',
      'table public.accounts: row count differs: expected 51, found 50',
    ]);
    expect(r.stderr).toMatch(/FAILED \(2 checks\)/);
    expect(await scratchDbs()).toEqual([]);
  });

  it('names the table whose content hash disagrees with the same row count', async () => {
    editManifest((m) => {
      m.fingerprints.tables.find((t) => t.name === 'we"ird table')!.hash = '12345';
    });
    const r = await runCli(drillArgs(repo()));
    fs.writeFileSync(manifestPath, original);
    expect(r.exitCode).toBe(2);
    expect(failed(jsonData(r.stdout)).map((c: { name: string }) => c.name)).toEqual(['tables', 'table "Sales Ü"."we""ird table"']);
  });

  it('catches a flipped byte before restoring anything', async () => {
    const dump = manifestPath.replace(/manifest\.json$/, 'dump');
    const good = fs.readFileSync(dump);
    const bad = Buffer.from(good);
    bad[bad.length - 100] ^= 0x80;
    fs.writeFileSync(dump, bad);
    const r = await runCli(drillArgs(repo()));
    fs.writeFileSync(dump, good);
    expect(r.exitCode).toBe(2);
    const report = jsonData(r.stdout);
    expect(failed(report).map((c: { name: string }) => c.name)).toEqual(['checksums']);
    expect(report.checks.map((c: { name: string }) => c.name)).not.toContain('restore');
    expect(report.rtoMs).toBeNull();
  });

  it('fails on a failing assertion, reporting expected and found, and drops the scratch database', async () => {
    const file = path.join(dir, 'bad.yml');
    fs.writeFileSync(file, `- name: a million accounts\n  sql: SELECT count(*) FROM public.accounts\n  expect: 1000000\n- name: broken sql\n  sql: SELECT * FROM no_such_table\n  rows: 0\n`);
    const r = await runCli([...drillArgs(repo()), '--assert', file]);
    expect(r.exitCode).toBe(2);
    expect(failed(jsonData(r.stdout)).map((c: { name: string; detail?: string }) => `${c.name}: ${c.detail}`)).toEqual([
      'assertion a million accounts: expected 1000000, found 50',
      'assertion broken sql: the query failed: relation "no_such_table" does not exist',
    ]);
    expect(await scratchDbs()).toEqual([]);
  });

  it('enforces the RPO and RTO limits', async () => {
    const { backupId } = JSON.parse(original);
    const twoDaysLater = () => new Date(Date.parse(JSON.parse(original).snapshot.time) + 2 * 86_400_000);
    const r = await runCli([...drillArgs(repo()), '--max-rpo', '1d', '--max-rto', '1ms'], {}, twoDaysLater);
    expect(r.exitCode).toBe(2);
    const report = jsonData(r.stdout);
    expect(report.backupId).toBe(backupId);
    expect(failed(report).map((c: { name: string }) => c.name)).toEqual(['rpo', 'rto']);
    expect(failed(report)[0].detail).toMatch(/^backup is 2d00h old at drill start, over the limit of 1d00h/);
  });

  it('drops the scratch database on SIGTERM', async () => {
    const file = path.join(dir, 'slow.yml');
    fs.writeFileSync(file, `- name: slow\n  sql: SELECT pg_sleep(60)\n  rows: 1\n`);
    const run = spawnCli([...drillArgs(repo()), '--assert', file]);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const sleeping = await drillServer.query(`SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()`);
      if (sleeping.length) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await scratchDbs()).toHaveLength(1);
    run.kill('SIGTERM');
    const result = await run;
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain('interrupted by SIGTERM');
    expect(await scratchDbs()).toEqual([]);
  });

  it('refuses to drill into the backed-up database itself', async () => {
    const r = await runCli(['drill', '--repo', repo(), '--db', DB, '--target', source.url(DB)]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('it is the database the backup came from');
  });
});

describe('status and prune after drills', () => {
  it('goes OK, WARNING, CRITICAL as backups and drills age', async () => {
    const repo = `file://${dir}/status`;
    await initTestRepo(repo);
    const b = await backup(repo);
    const at = (hours: number) => () => new Date(Date.parse(b.backupId.replace(/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/, '$1-$2-$3T$4:$5:$6Z')) + hours * 3_600_000);
    const status = (hours: number) => runCli(['status', '--repo', repo, '--db', DB, '--max-backup-age', '26h', '--max-drill-age', '8d'], {}, at(hours));
    let s = await status(1);
    expect(s.exitCode).toBe(2);
    expect(s.stdout).toMatch(/^PGOPS STATUS CRITICAL - shop ü: .*no passing restore drill/);
    expect(s.stdout.split('\n').slice(1)).toEqual(['runbook: runbooks/drill-failed.md', '']);
    expect((await runCli(drillArgs(repo), {}, at(1))).exitCode).toBe(0);
    s = await status(2);
    expect(s.exitCode).toBe(0);
    // one line: OK names no runbook page
    expect(s.stdout).toMatch(/^PGOPS STATUS OK - .* \| 'shop ü backup_age'=\d+s;93600;187200;0 'shop ü drill_age'=\d+s;691200;1382400;0\n$/);
    s = await status(30);
    expect(s.exitCode).toBe(1);
    expect(s.stdout).toMatch(/^PGOPS STATUS WARNING - .*newest backup \d{8}T\d{6}Z is 1d0\dh old \(warning over 1d02h\)/);
    expect(s.stdout.split('\n').slice(1)).toEqual(['runbook: runbooks/backup-failed.md', '']);
    s = await status(24 * 9);
    expect(s.exitCode).toBe(2);
    expect(s.stdout).toMatch(/CRITICAL.*backup.*critical over 2d04h.*drill.*warning over 8d00h/);
    // the CRITICAL backup's page, not the WARNING drill's
    expect(s.stdout.split('\n').slice(1)).toEqual(['runbook: runbooks/backup-failed.md', '']);
    const json = jsonData((await runCli(['status', '--repo', repo, '--db', DB, '--max-backup-age', '26h', '--max-drill-age', '8d', '--json'], {}, at(24 * 9))).stdout);
    expect(json.runbook).toEqual(['runbooks/backup-failed.md']);
    expect(json.databases[0].findings).toEqual([{ level: 2, kind: 'backup-age' }, { level: 1, kind: 'drill-age' }]);
    const unknown = await runCli(['status', '--repo', 'ftp://nowhere']);
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stdout).toMatch(/^PGOPS STATUS UNKNOWN - unsupported repository URL/);
    expect(unknown.stdout).not.toContain('runbook:');
  });

  it('prune keeps the newest drill-verified backup whatever the rules say', async () => {
    const repo = `file://${dir}/prune`;
    await initTestRepo(repo);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await backup(repo)).backupId);
      await new Promise((r) => setTimeout(r, 1100));
    }
    expect((await runCli([...drillArgs(repo), '--backup', ids[0]])).exitCode).toBe(0);
    const p = await runCli(['prune', '--repo', repo, '--keep-last', '1', '--execute', '--json']);
    expect(p.exitCode).toBe(0);
    const decisions = jsonData(p.stdout).databases[0].decisions;
    expect(decisions.map((d: { id: string; action: string; reasons: string[] }) => [d.id, d.action, d.reasons])).toEqual([
      [ids[2], 'keep', ['last 1/1', 'newest complete']],
      [ids[1], 'delete', ['no rule keeps it']],
      [ids[0], 'keep', ['newest drill-verified']],
    ]);
    const left = await runCli(['backups', 'list', '--repo', repo, '--json']);
    expect(jsonData(left.stdout).sets.map((s: { backupId: string; drill: { result: string } | null }) => [s.backupId, s.drill?.result ?? null])).toEqual([
      [ids[2], null],
      [ids[0], 'pass'],
    ]);
    // on-call restores the newest backup a drill proved
    const r = await runCli(['restore', '--repo', repo, '--backup', 'verified', '--to', drillServer.url('verified restore'), '--create', '--globals']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`restored backup ${ids[0]}`);
  });
});
