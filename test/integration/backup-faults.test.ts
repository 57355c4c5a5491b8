import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_FILE, setPrefix } from '../../lib/repo/layout.ts';
import { FileRepo } from '../../lib/repo/file.ts';
import { writeSet } from '../support/backup-sets.ts';
import { filesBelow } from '../support/files.ts';
import { childrenOf, waitFor } from '../support/process.ts';
import { jsonData, jsonEnvelope, runCli, spawnCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { startFaultProxy, type Fault } from '../support/fault-proxy.ts';
import { initTestRepo } from '../support/repo.ts';
import type { S3Server } from '../support/s3.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import { mountSmallDisk, unmountSmallDisk } from '../support/tmpfs.ts';

// What must hold when the storage fails under a backup, or pgops itself is killed: the storage's error is the
// error (not pg_dump's death of a broken pipe), what may be left is said, no reader uses an unfinished set, and
// prune never deletes a set whose backup is still writing it.
let cluster: Cluster;
let dir: string;
const ID_RE = /^\d{8}T\d{6}Z$/;


// A session holding ACCESS EXCLUSIVE on app.small: a backup's pg_dump waits for it right after it starts.
async function blockSmall(): Promise<pg.Client> {
  const c = new pg.Client({ host: cluster.dir, port: cluster.port, user: 'root', database: 'app' });
  await c.connect();
  await c.query('BEGIN');
  await c.query('LOCK TABLE small IN ACCESS EXCLUSIVE MODE');
  return c;
}

// Ends the blocking session's transaction, and the session.
async function release(blocker: pg.Client): Promise<void> {
  await blocker.query('ROLLBACK');
  await blocker.end();
}

const pgDumpWaiting = async () => (await cluster.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgops' AND wait_event_type = 'Lock'`)).length > 0;
const pgopsSessions = async () => (await cluster.query(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pgops%'`)).length;

// The failed run's --json envelope: no data, its exit code, error and hint.
function failure(r: { stdout: string }): { exitCode: number; error: string; hint: string | null } {
  const e = jsonEnvelope(r.stdout);
  expect(e).toMatchObject({ task: 'backup', ok: false, data: null, error: expect.any(String) });
  return { exitCode: e.exitCode, error: e.error!, hint: e.hint };
}

beforeAll(async () => {
  cluster = await startCluster();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-faults-'));
  await cluster.query('CREATE DATABASE app');
  await cluster.query('CREATE DATABASE big');
  cluster.psql(`CREATE TABLE small (id int PRIMARY KEY, v text); INSERT INTO small SELECT g, 'v' || g FROM generate_series(1, 100) g;`, 'app');
  // about 40 MB of dump without compression: more than an upload holds in flight, so pg_dump still runs when it fails
  cluster.psql(`CREATE TABLE noise (id int, v text); INSERT INTO noise SELECT g, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) FROM generate_series(1, 400000) g;`, 'big');
});

afterAll(async () => {
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a full disk under a file repository', () => {
  let mnt: string | undefined;
  let skipped: string | undefined;

  beforeAll(() => {
    ({ point: mnt, skipped } = mountSmallDisk(dir, '4m', 'the full-disk backups'));
  });

  afterAll(() => unmountSmallDisk({ point: mnt, skipped: '' }));

  it.for(['custom', 'directory'])('names the full disk and its path (%s format), not pg_dump, and leaves nothing', async (format, ctx) => {
    if (!mnt) return ctx.skip();
    const repo = path.join(mnt, format);
    await initTestRepo(`file://${repo}`);
    // leave 256 kB: the lease and globals.sql fit, the dump does not
    const filler = path.join(mnt, `filler-${format}`);
    const { bavail, bsize } = fs.statfsSync(mnt);
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 256 * 1024)));
    try {
      const r = await runCli(['backup', '--db', cluster.url('big'), '--repo', `file://${repo}`, '--format', format, '--compress', '0', '--json']);
      const f = failure(r);
      expect(r.exitCode).toBe(2);
      expect(f.error).toMatch(/no space left/i);
      expect(f.error).toContain(repo);
      expect(f.hint).toBeTruthy();
      expect(r.stdout + r.stderr).not.toContain('terminated by user');
      expect(r.stdout + r.stderr).not.toContain('pg_dump exited');
      expect(f.hint).not.toMatch(/lock/);
      // the cleanup could list and remove: nothing of the set is left, and the error does not say otherwise
      expect(f.error).not.toContain('may be left');
      expect(filesBelow(repo)).toEqual(['pgops-repo.json']);
    } finally {
      fs.rmSync(filler, { force: true });
    }
  });
});

describe.each(S3_SERVERS)('an S3 store ($name) that fails under a backup', ({ start }) => {
  let s3: S3Server;
  // the server's own settings, through the endpoint given (the proxy's or the server's)
  const flags = (endpoint: string) => [
    '--s3-endpoint', endpoint,
    ...(s3.options.s3PathStyle ? ['--s3-path-style'] : []),
    '--s3-checksum', s3.options.s3Checksum,
    '--s3-region', s3.options.s3Region,
    '--s3-part-size', `${s3.options.s3PartSize / 1024 / 1024}MB`,
    '--s3-max-attempts', String(s3.options.s3MaxAttempts),
  ];
  const list = async (prefix: string) => {
    const r = await runCli(['backups', 'list', '--repo', s3.repoUrl(prefix), '--json', ...flags(s3.endpoint)], s3.env);
    return jsonData(r.stdout).sets as { backupId: string; status: string }[];
  };

  beforeAll(async () => {
    s3 = await start();
    // the AWS SDK's default credential chain reads the process environment
    Object.assign(process.env, s3.env);
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it.each<[string, Fault, number, RegExp]>([
    ['the endpoint is lost (connections refused)', 'refuse', 3, /^cannot reach S3 endpoint http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/],
    ['every connection is reset', 'drop', 3, /^cannot reach S3 endpoint http:\/\/127\.0\.0\.1:\d+: /],
    ['the store answers 503 forever', '503', 2, /^s3 upload of \S+\/dump failed: ServiceUnavailable \(HTTP 503\)/],
  ])('when %s mid-upload, its error is the error and it says what may be left', async (_what, fault, code, message) => {
    const prefix = `mid-upload-${fault}`;
    await initTestRepo(s3.repoUrl(prefix), s3.options);
    const proxy = await startFaultProxy(s3.endpoint, { fault, afterBytes: 1_000_000 });
    try {
      const r = await runCli(['backup', '--db', cluster.url('big'), '--repo', s3.repoUrl(prefix), '--compress', '0', '--json', ...flags(proxy.endpoint)], s3.env);
      expect(proxy.tripped).toBe(true);
      const f = failure(r);
      expect(r.exitCode).toBe(code);
      expect(f.error).toMatch(message);
      expect(`${f.error} ${f.hint}`).toContain(proxy.endpoint);
      expect(f.hint).toBeTruthy();
      expect(r.stdout + r.stderr).not.toContain('terminated by user');
      expect(r.stdout + r.stderr).not.toContain('pg_dump exited');
      // the cleanup could not list the set: it says so instead of taking the failed listing for an empty one
      const id = /backups\/big\/(\d{8}T\d{6}Z)\//.exec(f.error)?.[1];
      expect(id).toMatch(ID_RE);
      expect(f.error).toContain(`could not list ${setPrefix('big', id!)} to remove the unfinished set`);
      expect(f.error).toContain(`files of the unfinished set may be left under ${s3.repoUrl(prefix)}/${setPrefix('big', id!)}: no reader uses a set without a manifest, and prune removes it after --incomplete-grace`);
      // with the store back, what was left is an incomplete set
      await proxy.heal();
      expect(await list(prefix)).toEqual([expect.objectContaining({ backupId: id, status: 'incomplete' })]);
    } finally {
      await proxy.close();
    }
  });

  it('fails the manifest commit with the store\'s error and says what may be left', async () => {
    const prefix = 'commit-503';
    await initTestRepo(s3.repoUrl(prefix), s3.options);
    const proxy = await startFaultProxy(s3.endpoint, { fault: '503', atRequest: (method, p) => method === 'PUT' && p.endsWith('/manifest.json') });
    try {
      const r = await runCli(['backup', '--db', cluster.url('app'), '--repo', s3.repoUrl(prefix), '--json', ...flags(proxy.endpoint)], s3.env);
      const f = failure(r);
      expect(r.exitCode).toBe(2);
      expect(f.error).toMatch(/^s3 upload of \S+\/manifest\.json failed: ServiceUnavailable \(HTTP 503\)/);
      expect(f.error).toMatch(/files of the unfinished set may be left under s3:\/\/\S+\/backups\/app\/\d{8}T\d{6}Z\//);
      await proxy.heal();
      const sets = await list(prefix);
      expect(sets.map((s) => s.status)).toEqual(['incomplete']);
    } finally {
      await proxy.close();
    }
  });

  it('keeps pg_dump\'s own error when the store is fine', async () => {
    const prefix = 'pg-dump-fails';
    await initTestRepo(s3.repoUrl(prefix), s3.options);
    const blocker = await blockSmall();
    try {
      const r = await runCli(['backup', '--db', cluster.url('app'), '--repo', s3.repoUrl(prefix), '--lock-wait-timeout', '300ms', '--json', ...flags(s3.endpoint)], s3.env);
      const f = failure(r);
      expect(r.exitCode).toBe(2);
      expect(f.error).toMatch(/^pg_dump exited with code 1:/);
      expect(f.error).toMatch(/canceling statement due to statement timeout[\s\S]*LOCK TABLE public\.small/);
      expect(f.hint).toMatch(/lock/);
    } finally {
      await release(blocker);
    }
    expect(await list(prefix)).toEqual([]);
  });
});

describe('pgops killed mid-backup, and prune beside a running backup', () => {
  const host = os.hostname();
  const setIds = (repo: string) => (fs.existsSync(path.join(repo, 'backups/app')) ? fs.readdirSync(path.join(repo, 'backups/app')).sort() : []);

  it('leaves an incomplete set that no reader uses; the next backup works; prune removes it after the grace', async () => {
    const repo = path.join(dir, 'killed');
    const url = `file://${repo}`;
    await initTestRepo(url);
    const first = await runCli(['backup', '--db', cluster.url('app'), '--repo', url, '--json']);
    expect(first.exitCode).toBe(0);
    const firstId = jsonData(first.stdout).backupId as string;

    const blocker = await blockSmall();
    const run = spawnCli(['backup', '--db', cluster.url('app'), '--repo', url]);
    let dumpPid: number | undefined;
    let killedId = '';
    try {
      await waitFor('pg_dump to wait on the lock', pgDumpWaiting);
      killedId = await waitFor('the lease of the second backup', () => setIds(repo).find((id) => id !== firstId && fs.existsSync(path.join(repo, 'backups/app', id, LEASE_FILE))));
      dumpPid = childrenOf(run.pid!).find((c) => c.comm === 'pg_dump')?.pid;
      run.kill('SIGKILL');
      const result = await run;
      expect(result.signal).toBe('SIGKILL');
    } finally {
      // pg_dump outlives its parent: it would wait on the lock, then die writing into the closed pipe
      if (dumpPid) process.kill(dumpPid, 'SIGKILL');
      await release(blocker);
    }
    await waitFor('the killed backup\'s sessions to end', async () => (await pgopsSessions()) === 0);
    expect(fs.readdirSync(path.join(repo, 'backups/app', killedId)).sort()).toEqual(expect.arrayContaining([LEASE_FILE]));
    expect(fs.existsSync(path.join(repo, 'backups/app', killedId, 'manifest.json'))).toBe(false);

    const listed = jsonData((await runCli(['backups', 'list', '--repo', url, '--json'])).stdout).sets as { backupId: string; status: string }[];
    expect(listed.map((s) => [s.backupId, s.status])).toEqual([
      [killedId, 'incomplete'],
      [firstId, 'complete'],
    ]);
    const restored = await runCli(['restore', '--repo', url, '--backup', 'latest', '--to', cluster.url('restored'), '--create', '--json']);
    expect(restored.exitCode).toBe(0);
    expect(jsonData(restored.stdout).backupId).toBe(firstId);

    const next = await runCli(['backup', '--db', cluster.url('app'), '--repo', url, '--json']);
    expect(next.exitCode).toBe(0);
    const nextId = jsonData(next.stdout).backupId as string;
    expect([firstId, killedId]).not.toContain(nextId);

    // its writer is dead: the lease is ignored at once, and the grace decides (a minute later by prune's clock)
    const later = new Date(Date.now() + 60_000);
    const prune = await runCli(['prune', '--repo', url, '--keep-last', '5', '--incomplete-grace', '1s', '--execute', '--log-format', 'human'], {}, () => later);
    expect(prune.exitCode).toBe(0);
    expect(prune.stdout).toMatch(new RegExp(`^app\\s+${killedId}\\s+delete\\s+.*incomplete, older than grace 1s$`, 'm'));
    expect(prune.stderr).toContain(`lease ignored, its writer (pid ${run.pid} on ${host}) is gone`);
    expect(setIds(repo)).toEqual([firstId, nextId].sort());
    expect(filesBelow(repo).filter((f) => !f.startsWith('backups/app/') || !/\/(dump|globals\.sql|manifest\.json)$/.test(f))).toEqual(['pgops-repo.json']);
  });

  it('keeps a set whose backup is still running, whatever the grace and the clock, and says why', async () => {
    const repo = path.join(dir, 'live');
    const url = `file://${repo}`;
    await initTestRepo(url);
    const blocker = await blockSmall();
    const run = spawnCli(['backup', '--db', cluster.url('app'), '--repo', url, '--json']);
    let id = '';
    try {
      await waitFor('pg_dump to wait on the lock', pgDumpWaiting);
      id = await waitFor('the lease', () => setIds(repo).find((x) => fs.existsSync(path.join(repo, 'backups/app', x, LEASE_FILE))));
      const lease = JSON.parse(fs.readFileSync(path.join(repo, 'backups/app', id, LEASE_FILE), 'utf8'));
      expect(lease).toMatchObject({ format: 'pgops-backup-lease', host, pid: run.pid });
      expect(Date.parse(lease.expiresAt)).toBeGreaterThan(Date.parse(lease.renewedAt));
      // a day later by prune's clock: the lease has expired, but its writer runs on this host
      const dayLater = new Date(Date.now() + 86_400_000);
      const prune = await runCli(['prune', '--repo', url, '--keep-last', '1', '--incomplete-grace', '1s', '--execute'], {}, () => dayLater);
      expect(prune.exitCode).toBe(0);
      expect(prune.stdout).toMatch(new RegExp(`^app\\s+${id}\\s+keep\\s+.*a backup is writing it: pid ${run.pid} on ${host}, lease renewed at ${lease.renewedAt}$`, 'm'));
      expect(prune.stdout).toContain('deleted 0 set(s)');
      expect(fs.existsSync(path.join(repo, 'backups/app', id, LEASE_FILE))).toBe(true);
    } finally {
      await release(blocker);
    }
    const result = await run;
    expect(result.exitCode).toBe(0);
    expect(jsonData(result.stdout).backupId).toBe(id);
    // committed: the lease is gone, the set is what its manifest lists
    expect(fs.readdirSync(path.join(repo, 'backups/app', id)).sort()).toEqual(['dump', 'globals.sql', 'manifest.json']);
  });

  it('honours another host\'s lease until it expires, then the grace decides', async () => {
    const root = path.join(dir, 'remote-lease');
    const url = `file://${root}`;
    await initTestRepo(url);
    const repo = new FileRepo(root);
    const now = new Date('2026-11-22T12:00:00Z');
    await writeSet(repo, 'app', '20261122T031700Z');
    const lease = (id: string, expiresAt: string) =>
      repo.putBytes(
        setPrefix('app', id) + LEASE_FILE,
        JSON.stringify({ format: 'pgops-backup-lease', host: 'elsewhere.example', pid: 4242, startedAt: '2026-11-22T10:00:00.000Z', renewedAt: '2026-11-22T11:58:00.000Z', expiresAt }),
      );
    await writeSet(repo, 'app', '20261122T100000Z', { complete: false });
    await lease('20261122T100000Z', '2026-11-22T12:08:00.000Z');
    await writeSet(repo, 'app', '20261122T090000Z', { complete: false });
    await lease('20261122T090000Z', '2026-11-22T11:00:00.000Z');
    const r = await runCli(['prune', '--repo', url, '--keep-last', '1', '--incomplete-grace', '1h', '--execute', '--log-format', 'human'], {}, () => now);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^app\s+20261122T100000Z\s+keep\s+.*a backup is writing it: pid 4242 on elsewhere\.example, lease renewed at 2026-11-22T11:58:00\.000Z, expires at 2026-11-22T12:08:00\.000Z$/m);
    expect(r.stdout).toMatch(/^app\s+20261122T090000Z\s+delete\s+.*incomplete, older than grace 1h$/m);
    expect(r.stderr).toContain('lease ignored, the lease of its writer (pid 4242 on elsewhere.example) expired at 2026-11-22T11:00:00.000Z');
    expect(fs.readdirSync(path.join(root, 'backups/app')).sort()).toEqual(['20261122T031700Z', '20261122T100000Z']);
  });
});
