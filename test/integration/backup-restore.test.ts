import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.ts';
import { S3Repo } from '../../lib/repo/s3.ts';
import { readContent } from '../support/compare.ts';
import { jsonData, runCli } from '../support/cli.ts';
import { answeringTerminal } from '../support/terminal.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { startFlakyProxy } from '../support/flaky-proxy.ts';
import { initTestRepo } from '../support/repo.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';

// Round trips of the tricky schema onto a different cluster, on a file repository and on each S3 server.
const DB = 'tricky "ü" db';
let source: Cluster;
let target: Cluster;
let dir: string;

const s3Env = (s3: S3Server) => ({ ...s3.env, PGOPS_S3_ENDPOINT: s3.endpoint, PGOPS_S3_PATH_STYLE: 'true', PGOPS_S3_CHECKSUM: 'when-required' });

beforeAll(async () => {
  [source, target] = await Promise.all([startCluster(), startCluster()]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-br-'));
  await source.query(`CREATE DATABASE "tricky ""ü"" db"`);
  source.psql(fs.readFileSync(new URL('../support/fixtures/tricky.sql', import.meta.url), 'utf8'), DB);
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('backup and restore through a file repository', () => {
  beforeAll(() => initTestRepo(`file://${dir}/repo-file`));
  roundTrip('file', () => ({ repo: `file://${dir}/repo-file`, env: {} }));
});

describe.each(S3_SERVERS)('backup and restore through an s3 repository on $name', ({ name, start }) => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await start();
    Object.assign(process.env, s3.env); // the AWS SDK's default credential chain reads the process environment
    for (const prefix of ['round-trip', 'flaky', 'flip']) await initTestRepo(s3.repoUrl(prefix), s3.options);
  });
  afterAll(() => s3?.stop());

  roundTrip(name, () => ({ repo: s3.repoUrl('round-trip'), env: s3Env(s3) }));

  it('retries 503 SlowDown answers and reset connections with backoff, and the round trip still matches', async () => {
    const proxy = await startFlakyProxy(s3.endpoint, 3);
    try {
      const env = { ...s3Env(s3), PGOPS_S3_ENDPOINT: proxy.endpoint, PGOPS_S3_PART_SIZE: '5MB', PGOPS_S3_MAX_ATTEMPTS: '6' };
      const repo = s3.repoUrl('flaky');
      const b = await runCli(['backup', '--db', source.url(DB), '--repo', repo, '--json'], env);
      expect(b.exitCode, b.stderr).toBe(0);
      const restored = `through flaky ${name}`;
      const r = await runCli(['restore', '--repo', repo, '--to', target.url(restored), '--create', '--globals'], env);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(proxy.faults.status503).toBeGreaterThan(0);
      expect(proxy.faults.resets).toBeGreaterThan(0);
      expect((await readContent(target.url(restored))).tables).toEqual((await readContent(source.url(DB))).tables);
    } finally {
      await proxy.close();
    }
  });

  it('detects a flipped byte in an S3 set before the restore writes anything', async () => {
    const repo = s3.repoUrl('flip');
    const b = await runCli(['backup', '--db', source.url(DB), '--repo', repo, '--json'], s3Env(s3));
    expect(b.exitCode).toBe(0);
    const key = jsonData(b.stdout).manifest.replace(/manifest\.json$/, 'globals.sql');
    const store = new S3Repo({ bucket: s3.bucket, prefix: 'flip', options: s3.options, log: silentLogger() });
    const text = (await store.getBytes(key)).toString('utf8');
    await store.putBytes(key, text.replace('CREATE ROLE', 'CREATE ROLF'));
    await store.close();
    const r = await runCli(['restore', '--repo', repo, '--to', target.url('never created'), '--create'], s3Env(s3));
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toMatch(/checksum mismatch in flip\/|checksum mismatch in backups\/.*globals\.sql/);
    expect(await target.query(`SELECT 1 FROM pg_database WHERE datname = 'never created'`)).toHaveLength(0);
  });
});

// The round trip through one repository; kind names the database it restores into.
function roundTrip(kind: string, repoOf: () => { repo: string; env: NodeJS.ProcessEnv }): void {
  it('restores the tricky schema onto another cluster with --globals, every table matching', async () => {
    const { repo, env } = repoOf();
    const b = await runCli(['backup', '--db', source.url(DB), '--repo', repo, '--fingerprint', 'hash', '--json'], env);
    expect(b.stderr).not.toMatch(/"level":"error"/);
    expect(b.exitCode).toBe(0);
    const result = jsonData(b.stdout);
    expect(result.backupId).toMatch(/^\d{8}T\d{6}Z$/);
    expect(result.files.map((f: { path: string }) => f.path).sort()).toEqual(['dump', 'globals.sql']);

    const list = await runCli(['backups', 'list', '--repo', repo, '--db', DB, '--json'], env);
    expect(list.exitCode).toBe(0);
    expect(jsonData(list.stdout).sets).toMatchObject([{ database: DB, backupId: result.backupId, status: 'complete' }]);

    const restoredDb = `restored ${kind} ü`;
    const r = await runCli(['restore', '--repo', repo, '--backup', 'latest', '--to', target.url(restoredDb), '--create', '--globals'], env);
    expect(r.stderr).not.toMatch(/"level":"(error|warn)"/);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`restored backup ${result.backupId}`);

    const before = await readContent(source.url(DB));
    const after = await readContent(target.url(restoredDb));
    expect(before.tables.length).toBe(9);
    expect(after.tables).toEqual(before.tables);
    expect(after.largeObjects).toEqual(before.largeObjects);
    expect(after.largeObjects).toHaveLength(5);
    expect(after.sequences).toEqual(before.sequences);
    expect(after.policies).toEqual(before.policies);
    expect(after.triggers).toEqual(before.triggers);
    expect(after.views).toEqual(before.views);
    expect(after.identityColumns).toEqual(before.identityColumns);
    expect(after.generatedColumns).toEqual(before.generatedColumns);
    // the owner role came over with --globals
    const owner = await target.query<{ o: string }>(`SELECT nspowner::regrole::text AS o FROM pg_namespace WHERE nspname = 'Sales Ü'`, [], restoredDb);
    expect(owner[0].o).toBe('app_owner');
    // the manifest's fingerprints, taken in pg_dump's snapshot, agree with the data
    if (kind === 'file') {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'repo-file', result.manifest), 'utf8'));
      expect(manifest.fingerprints.tables).toEqual(before.tables);
      expect(manifest.files.find((f: { path: string }) => f.path === 'dump').size).toBe(fs.statSync(path.join(dir, 'repo-file', result.manifest.replace(/manifest\.json$/, 'dump'))).size);
    }
  });
}

describe('directory format and partial restores', () => {
  const repo = () => `file://${dir}/repo-dir`;
  beforeAll(() => initTestRepo(repo()));

  it('dumps in directory format with --jobs 2 and restores with --jobs 2', async () => {
    const b = await runCli(['backup', '--db', source.url(DB), '--repo', repo(), '--format', 'directory', '--jobs', '2', '--json']);
    expect(b.exitCode).toBe(0);
    const files: string[] = jsonData(b.stdout).files.map((f: { path: string }) => f.path);
    expect(files).toContain('dump/toc.dat');
    expect(files.filter((f) => /^dump\/\d+\.dat/.test(f)).length).toBeGreaterThan(5);
    const r = await runCli(['restore', '--repo', repo(), '--to', target.url('from dir'), '--create', '--globals', '--jobs', '2']);
    expect(r.exitCode).toBe(0);
    expect((await readContent(target.url('from dir'))).tables).toEqual((await readContent(source.url(DB))).tables);
  });

  it('restores one table with --table into a scratch database', async () => {
    const r = await runCli(['restore', '--repo', repo(), '--to', target.url('one table'), '--create', '--table', '"Sales Ü"."we""ird table"', '--no-owner']);
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.exitCode).toBe(0);
    const tables = await target.query<{ t: string; n: string }>(
      `SELECT format('%I.%I', schemaname, relname) AS t, n_live_tup::text AS n FROM pg_stat_user_tables ORDER BY 1`, [], 'one table');
    expect(tables.map((t) => t.t)).toEqual(['"Sales Ü"."we""ird table"']);
    const n = await target.query<{ n: string }>(`SELECT count(*)::text AS n FROM "Sales Ü"."we""ird table"`, [], 'one table');
    expect(n[0].n).toBe('502');
  });

  it('refuses a target that already has tables unless --clean', async () => {
    const r = await runCli(['restore', '--repo', repo(), '--to', target.url('from dir')]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('already has tables');
    expect(r.stderr).toContain('--clean');
    const c = await runCli(['restore', '--repo', repo(), '--to', target.url('from dir'), '--clean']);
    expect(c.exitCode).toBe(0);
  });

  it('asks a person at a terminal to type the database name before --clean, and changes nothing on a wrong answer', async () => {
    await target.query('CREATE TABLE IF NOT EXISTS public.mark_of_the_target (x int)', [], 'from dir');
    // a --clean restore drops and re-creates the backup's tables: new oids
    const oids = () => target.query<{ oid: string }>(`SELECT oid::text FROM pg_class WHERE relkind = 'r' AND relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) ORDER BY oid`, [], 'from dir');
    const before = await oids();
    const wrong = answeringTerminal('from di');
    const r = await runCli(['restore', '--repo', repo(), '--to', target.url('from dir'), '--clean'], {}, undefined, { terminal: wrong.terminal });
    expect(wrong.shown()).toContain(`restore --clean drops the objects of the backup that exist in postgresql://root@127.0.0.1:${target.port}/from%20dir\nType from dir to go on`);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('not confirmed: \\"from di\\" is not from dir; nothing was changed');
    // not even --clean's drop ran: every table is the one it was
    expect(await oids()).toEqual(before);
    await target.query('DROP TABLE public.mark_of_the_target', [], 'from dir');
    const right = answeringTerminal('from dir');
    const ok = await runCli(['restore', '--repo', repo(), '--to', target.url('from dir'), '--clean'], {}, undefined, { terminal: right.terminal });
    expect(ok.exitCode).toBe(0);
    expect(await oids()).not.toEqual(before.slice(0, -1));
    expect((await readContent(target.url('from dir'))).tables).toEqual((await readContent(source.url(DB))).tables);
  });

  it('refuses to restore into the database the backup came from unless --force', async () => {
    const r = await runCli(['restore', '--repo', repo(), '--to', source.url(DB), '--clean']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('it is the database backup');
  });
});

describe('a config file target', () => {
  it('runs `pgops backup --target main` and `pgops prune --target main` from pgops.config.yml', async () => {
    const config = path.join(dir, 'pgops.config.yml');
    await initTestRepo(`file://${dir}/repo-config`);
    fs.writeFileSync(config, `targets:\n  main:\n    db: ${JSON.stringify(source.url(DB))}\n    repo: file://${dir}/repo-config\n    retention: { keep-last: 1 }\n`);
    const first = await runCli(['backup', '--target', 'main', '--config', config, '--fingerprint', 'count', '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1100));
    const second = await runCli(['backup', '--config', config, '--json'], { PGOPS_TARGET: 'main' });
    expect(second.exitCode, second.stderr).toBe(0);
    const plan = await runCli(['prune', '--target', 'main', '--config', config, '--json']);
    expect(jsonData(plan.stdout).databases[0].decisions.map((d: { id: string; action: string }) => [d.id, d.action])).toEqual([
      [jsonData(second.stdout).backupId, 'keep'],
      [jsonData(first.stdout).backupId, 'delete'],
    ]);
    const unknown = await runCli(['backup', '--target', 'mian', '--config', config]);
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toContain('known targets: main');
  });
});

describe('a damaged set', () => {
  it('detects a flipped byte before the restore writes anything, naming the file', async () => {
    const repoDir = path.join(dir, 'repo-flip');
    await initTestRepo(`file://${repoDir}`);
    const b = await runCli(['backup', '--db', source.url(DB), '--repo', `file://${repoDir}`, '--json']);
    expect(b.exitCode).toBe(0);
    const dumpFile = path.join(repoDir, jsonData(b.stdout).manifest.replace(/manifest\.json$/, 'dump'));
    const bytes = fs.readFileSync(dumpFile);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    fs.writeFileSync(dumpFile, bytes);

    const r = await runCli(['restore', '--repo', `file://${repoDir}`, '--to', target.url('never created'), '--create', '--globals']);
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toMatch(/checksum mismatch in backups\/.*\/dump/);
    const dbs = await target.query(`SELECT 1 FROM pg_database WHERE datname = 'never created'`);
    expect(dbs).toHaveLength(0);
  });
});
