import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, jsonEnvelope, runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { initTestRepo } from '../support/repo.ts';

// idle-cleanup against sessions the test opens itself, run by a role with only pg_signal_backend and pg_read_all_stats.
let c: Cluster;
let dir: string;
const opened: { client: pg.Client; pid: number }[] = [];

// A session as `user` on `database`, with an application_name; returns its pid. replication: a walsender.
async function session(user: string, database: string, application = 'app-server', replication?: 'database'): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ host: '127.0.0.1', port: c.port, user, database, application_name: application, ...(replication ? { replication } : {}) });
  client.on('error', () => {}); // terminated on purpose
  await client.connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const s = { client, pid };
  opened.push(s);
  return s;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Waits until the query returns a row, with a generous deadline.
async function until(sql: string, params: unknown[] = []): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) if ((await c.query(sql, params)).length) return;
  throw new Error(`timed out waiting for: ${sql}`);
}
const alive = async (pids: number[]) => (await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[]) ORDER BY pid', [pids])).map((r) => r.pid);
const cleanup = (args: string[], user = 'cleaner') => runCli(['idle-cleanup', '--db', c.url('postgres', user), '--json', ...args]);
type Target = { pid: number; outcome: string; state: string; error?: string };
type Spared = { pid: number; reason: string };

beforeAll(async () => {
  c = await startCluster();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-idle-'));
  c.psql(`CREATE ROLE cleaner LOGIN; GRANT pg_signal_backend, pg_read_all_stats TO cleaner;
          CREATE ROLE app LOGIN; CREATE ROLE reporter LOGIN; CREATE ROLE admin LOGIN SUPERUSER; CREATE ROLE replicator LOGIN REPLICATION;
          CREATE DATABASE shop;`);
  c.psql('CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 1000); ALTER TABLE orders OWNER TO app;', 'shop');
});

afterEach(async () => {
  await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1::int[])', [opened.map((s) => s.pid)]);
  await Promise.all(opened.splice(0).map((s) => s.client.end().catch(() => {})));
});

afterAll(async () => {
  await c?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('idle-cleanup', () => {
  it('lists, then terminates exactly the idle and idle-in-transaction sessions, leaving active, excluded, superuser and its own sessions alone', async () => {
    const idle = await session('app', 'shop');
    const idleTx = await session('app', 'shop');
    await idleTx.client.query('BEGIN');
    await idleTx.client.query('SELECT 1');
    const active = await session('app', 'shop');
    active.client.query('SELECT pg_sleep(30)').catch(() => {});
    const excluded = await session('app', 'shop', 'keepme');
    const superuser = await session('admin', 'shop');
    await sleep(1500);
    const args = ['--idle', '1s', '--idle-in-transaction', '1s', '--exclude-app', 'keepme'];
    const everyone = [idle, idleTx, active, excluded, superuser].map((s) => s.pid).sort((a, b) => a - b);

    const dry = await cleanup(args);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const plan = jsonData(dry.stdout);
    expect(plan.targets.map((t: Target) => [t.pid, t.state, t.outcome])).toEqual([
      [idleTx.pid, 'idle in transaction', 'planned'],
      [idle.pid, 'idle', 'planned'],
    ]);
    expect(plan.targets[0]).toMatchObject({ user: 'app', database: 'shop', application: 'app-server', clientAddr: '127.0.0.1', query: 'SELECT 1' });
    expect(plan.targets[0].idleMs).toBeGreaterThan(1000);
    const spared = Object.fromEntries(plan.spared.map((s: Spared) => [s.pid, s.reason]));
    expect(spared[excluded.pid]).toBe('application "keepme" is excluded');
    expect(spared[superuser.pid]).toBe('superuser (--include-superusers to include)');
    expect(spared[active.pid]).toBeUndefined();
    expect(await alive(everyone)).toEqual(everyone);

    const human = await runCli(['idle-cleanup', '--db', c.url('postgres', 'cleaner'), ...args]);
    expect(human.stdout).toMatch(new RegExp(`PID +USER +DATABASE +APPLICATION +CLIENT +STATE +IDLE FOR +LAST QUERY\\n${idleTx.pid} +app +shop +app-server +127\\.0\\.0\\.1 +idle in transaction +\\d+\\.\\ds +SELECT 1`));
    expect(human.stdout).toContain('2 session(s) would be terminated');

    const run = await cleanup([...args, '--execute']);
    expect(run.exitCode, run.stderr).toBe(0);
    const done = jsonData(run.stdout);
    expect(done.targets.map((t: Target) => [t.pid, t.outcome])).toEqual([
      [idleTx.pid, 'terminated'],
      [idle.pid, 'terminated'],
    ]);
    expect(done.targets.some((t: { application: string }) => t.application.startsWith('pgops'))).toBe(false);
    expect(await alive(everyone)).toEqual([active.pid, excluded.pid, superuser.pid].sort((a, b) => a - b));
    // the targets were listed, then each termination logged before it was done
    const log = run.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(log.map((e) => e.kind)).toEqual(['plan', 'terminate', 'terminate']);
    expect(log[0].message).toContain(`${idleTx.pid}`);
  });

  it('honours --max (idle in transaction first) and the exclude lists of the config file', async () => {
    const idle = await session('app', 'shop');
    const idleTx = await session('app', 'shop');
    await idleTx.client.query('BEGIN');
    await idleTx.client.query('SELECT 1');
    const otherDb = await session('app', 'postgres');
    const reporter = await session('reporter', 'shop');
    await sleep(1500);
    const config = path.join(dir, 'pgops.config.yml');
    fs.writeFileSync(config, `targets:\n  main:\n    db: ${c.url('shop', 'cleaner')}\n    exclude-db: [postgres]\n    exclude-user:\n      - reporter\n    idle: 1s\n`);
    const r = await runCli(['idle-cleanup', '--config', config, '--target', 'main', '--idle-in-transaction', '1s', '--max', '1', '--execute', '--json']);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = jsonData(r.stdout);
    expect(out.targets.map((t: Target) => [t.pid, t.outcome])).toEqual([[idleTx.pid, 'terminated']]);
    expect(out.deferred.map((t: Target) => t.pid)).toEqual([idle.pid]);
    const spared = Object.fromEntries(out.spared.map((s: Spared) => [s.pid, s.reason]));
    expect(spared[otherDb.pid]).toBe('database postgres is excluded');
    expect(spared[reporter.pid]).toBe('user reporter is excluded');
    expect(await alive([idle.pid, idleTx.pid, otherDb.pid, reporter.pid])).toEqual([idle.pid, otherDb.pid, reporter.pid].sort((a, b) => a - b));
  });

  it('terminates superusers only with --include-superusers, and says when its role may not', async () => {
    const superuser = await session('admin', 'shop');
    await sleep(1500);
    const args = ['--idle', '1s', '--include-superusers', '--exclude-user', 'root', '--execute'];
    const denied = await cleanup(args);
    expect(denied.exitCode).toBe(2);
    const target = jsonData(denied.stdout).targets.find((t: Target) => t.pid === superuser.pid);
    expect(target.outcome).toBe('failed');
    expect(target.error).toMatch(/superuser/);
    expect(await alive([superuser.pid])).toEqual([superuser.pid]);

    const root = await cleanup(args, 'root');
    expect(root.exitCode, root.stderr).toBe(0);
    expect(jsonData(root.stdout).targets.map((t: Target) => [t.pid, t.outcome])).toEqual([[superuser.pid, 'terminated']]);
    expect(await alive([superuser.pid])).toEqual([]);
  });

  it("keeps a running backup's snapshot session idle in transaction past the limit, and a walsender, whatever the options; terminates the ordinary session blocking the backup", async () => {
    const repo = `file://${path.join(dir, 'repo')}`;
    await initTestRepo(repo);
    const blocker = await session('app', 'shop');
    await blocker.client.query('BEGIN');
    await blocker.client.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
    const walsender = await session('replicator', 'shop', 'app-server', 'database');
    await walsender.client.query('SELECT 1');
    const backup = runCli(['backup', '--db', c.url('shop'), '--repo', repo, '--lock-wait-timeout', '10min', '--json']);
    // the backup waits for the blocker's lock, its snapshot session idle in transaction all the while
    await until(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pgops%' AND wait_event_type = 'Lock'`);
    await until(
      `SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgops backup' AND state = 'idle in transaction' AND state_change < clock_timestamp() - interval '1.5 s'
          AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND state_change < clock_timestamp() - interval '1.5 s' GROUP BY () HAVING count(*) = 2)`,
      [[blocker.pid, walsender.pid]],
    );
    const snapshotPid = (await c.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'pgops backup'`))[0].pid;

    const r = await cleanup(['--idle', '1s', '--idle-in-transaction', '1s', '--include-superusers', '--max', '100', '--execute'], 'root');
    expect(r.exitCode, r.stderr).toBe(0);
    const out = jsonData(r.stdout);
    expect(out.targets.map((t: Target) => [t.pid, t.outcome])).toEqual([[blocker.pid, 'terminated']]);
    const kept = Object.fromEntries(out.spared.map((s: Spared & { always: boolean }) => [s.pid, [s.always, s.reason]]));
    expect(kept[snapshotPid]).toEqual([true, "a pgops backup's snapshot session: terminating it fails the backup"]);
    expect(kept[walsender.pid]).toEqual([true, 'a replication connection (walsender): terminating it breaks a standby, a base backup or WAL streaming']);
    expect(await alive([blocker.pid, walsender.pid])).toEqual([walsender.pid]);

    // with the blocker gone the backup goes on and completes: its snapshot session was never touched (a backup whose
    // snapshot session is terminated fails with "the backup's database connection was lost")
    const done = await backup;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(jsonData(done.stdout)).toMatchObject({ ok: true, database: 'shop' });

    const human = await runCli(['idle-cleanup', '--db', c.url('postgres'), '--idle', '1s']);
    expect(human.stdout).toMatch(new RegExp(`^kept: pid ${walsender.pid} replicator@shop \\("app-server", idle for [\\d.]+s\\): a replication connection \\(walsender\\)`, 'm'));
  });

  it('needs at least one limit', async () => {
    const r = await cleanup([]);
    expect(r.exitCode).toBe(3);
    expect(jsonEnvelope(r.stdout)).toMatchObject({ task: 'idle-cleanup', ok: false, exitCode: 3, data: null, error: 'idle-cleanup needs a limit' });
  });
});
