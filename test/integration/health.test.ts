import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli } from '../support/cli.ts';
import { freePort, startCluster, type Cluster } from '../support/cluster.ts';

// pgops health against a real cluster: each threshold flips its check as the sessions and tables the test makes say.
let c: Cluster;
let dir: string;
const opened: pg.Client[] = [];

async function session(application = 'app-server'): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ host: '127.0.0.1', port: c.port, user: 'root', database: 'shop', application_name: application });
  client.on('error', () => {});
  await client.connect();
  opened.push(client);
  return { client, pid: (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// cache hit ratios of a fresh cluster are not stable enough to assert on: graded only where a test asks
const health = (args: string[] = []) => runCli(['health', '--db', c.url('shop'), '--cache-hit-warning', '0', '--cache-hit-critical', '0', '--json', ...args]);
type Check = { name: string; level: number; message: string; table?: { rows: string[][] } };
const checkOf = (r: { stdout: string }, name: string): Check => jsonData(r.stdout).checks.find((x: Check) => x.name === name);

beforeAll(async () => {
  c = await startCluster({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-health-'));
  await c.query('CREATE DATABASE shop');
  c.psql(`CREATE EXTENSION pg_stat_statements;
          CREATE TABLE accounts (id int PRIMARY KEY, email text UNIQUE, region text);
          CREATE INDEX accounts_region ON accounts (region);
          INSERT INTO accounts SELECT g, 'u' || g || '@example.com', 'r' || (g % 5) FROM generate_series(1, 100) g;`, 'shop');
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((cl) => cl.end().catch(() => {})));
});

afterAll(async () => {
  await c?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('health', () => {
  it('is OK on a quiet server: a Nagios line with perfdata, then one line per check', async () => {
    const r = await runCli(['health', '--db', c.url('shop'), '--cache-hit-warning', '0', '--cache-hit-critical', '0']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PGOPS HEALTH OK - 10 checks ok \| 'connections'=\d+;40;47;0;50 'cache_hit'=[\d.]+%;0:;0:;0;100 .*'xid_age'=\d+;1073741824;1610612736;0;2147483648$/);
    // OK names no runbook page: the status line, then the checks
    expect(lines.slice(1).map((l) => l.replace(/ .*/, ''))).toEqual(Array(10).fill('[OK]'));
    expect(lines).toContain('[OK] no session waits for a lock');
  });

  it('flips connections to WARNING and CRITICAL as sessions pass the percentages of max_connections', async () => {
    for (let i = 0; i < 4; i++) await session();
    // 4 sessions, this run's own and the harness's: at least 6 of 50 = 12%
    const warn = await health(['--connections-warning', '10', '--connections-critical', '50']);
    expect(warn.exitCode).toBe(1);
    expect(checkOf(warn, 'connections')).toMatchObject({ level: 1 });
    expect(jsonData(warn.stdout).line).toMatch(/^PGOPS HEALTH WARNING - connections \d+ of max_connections 50 \(\d+%\) \(warning over 10%\): .*'connections'=\d+;5;25;0;50/);
    expect(jsonData(warn.stdout).runbook).toEqual(['runbooks/connections-exhausted.md']);
    // as text: the status line first, as monitors read it, then the page
    const text = await runCli(['health', '--db', c.url('shop'), '--cache-hit-warning', '0', '--cache-hit-critical', '0', '--connections-warning', '10', '--connections-critical', '50']);
    const [line, page, first] = text.stdout.split('\n');
    expect(line).toMatch(/^PGOPS HEALTH WARNING - connections \d+ of max_connections 50 /);
    expect(page).toBe('runbook: runbooks/connections-exhausted.md');
    expect(first).toMatch(/^\[WARNING\] connections /);
    const crit = await health(['--connections-warning', '5', '--connections-critical', '10']);
    expect(crit.exitCode).toBe(2);
    expect(checkOf(crit, 'connections').level).toBe(2);
    const calm = await health();
    expect(checkOf(calm, 'connections').level).toBe(0);
    expect(jsonData(calm.stdout).runbook).toEqual([]);
  });

  it('grades a session idle in transaction and the transaction it keeps open', async () => {
    const s = await session('forgot-commit');
    await s.client.query('BEGIN');
    await s.client.query('SELECT count(*) FROM accounts');
    await sleep(1200);
    const r = await health(['--idle-in-transaction-warning', '1s', '--transaction-age-critical', '1s']);
    expect(r.exitCode).toBe(2);
    const idle = checkOf(r, 'idle_in_transaction');
    expect(idle.level).toBe(1);
    expect(idle.message).toMatch(new RegExp(`^longest idle in transaction \\d+\\.\\ds \\(warning over 1\\.0s\\): pid ${s.pid} root@shop \\(forgot-commit\\)$`));
    expect(checkOf(r, 'longest_transaction')).toMatchObject({ level: 2 });
    expect(jsonData(r.stdout).line).toMatch(/^PGOPS HEALTH CRITICAL - longest transaction .*; longest idle in transaction/);
    // the CRITICAL transaction's page only, not the WARNING idle session's
    expect(jsonData(r.stdout).runbook).toEqual(['runbooks/health.md#2-the-checks-their-limits-and-what-to-do']);
    expect(jsonData((await health(['--idle-in-transaction-warning', '1s'])).stdout).runbook).toEqual(['runbooks/idle-cleanup.md']);
    // with the default limits (5m, 1h) both are fine
    const calm = await health();
    expect(checkOf(calm, 'idle_in_transaction').level).toBe(0);
    expect(checkOf(calm, 'longest_transaction').level).toBe(0);
  });

  it('shows a blocked session and the one blocking it, and grades the wait', async () => {
    const holder = await session('holder');
    await holder.client.query('BEGIN');
    await holder.client.query('LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE');
    const waiter = await session('waiter');
    const waiting = waiter.client.query('SELECT count(*) FROM accounts').catch(() => {});
    await sleep(1200);
    const r = await health(['--lock-wait-warning', '1s']);
    const locks = checkOf(r, 'lock_waits');
    expect(locks.level).toBe(1);
    expect(locks.message).toMatch(new RegExp(`^1 session\\(s\\) wait for locks, longest \\d+\\.\\ds \\(warning over 1\\.0s\\): pid ${waiter.pid} root@shop \\(waiter\\) blocked by ${holder.pid}$`));
    // sizes skip the locked table instead of waiting behind its lock for --lock-timeout
    expect(checkOf(r, 'sizes').level).toBe(0);
    expect(checkOf(r, 'unused_indexes').level).toBe(0);
    expect(locks.table!.rows.map((row) => [row[0], row[1]])).toEqual([
      ['blocked', String(waiter.pid)],
      ['blocking', String(holder.pid)],
    ]);
    expect(checkOf(await health(), 'lock_waits').level).toBe(0);
    await holder.client.query('ROLLBACK');
    await waiting;
  });

  it('grades dead tuples of a table with an odd name, and writes the markdown report', async () => {
    c.psql(`CREATE TABLE "Dead ""rows"" | ü" (id int) WITH (autovacuum_enabled = off);
            INSERT INTO "Dead ""rows"" | ü" SELECT generate_series(1, 2000);
            DELETE FROM "Dead ""rows"" | ü" WHERE id > 500;
            SELECT pg_stat_force_next_flush();`, 'shop');
    try {
      const report = path.join(dir, 'health.md');
      const r = await health(['--dead-tuples-min', '100', '--report', report]);
      expect(r.exitCode).toBe(2);
      expect(checkOf(r, 'dead_tuples')).toMatchObject({ level: 2, message: 'most dead rows: public."Dead ""rows"" | ü" 75% dead (1500 of 2000) (critical over 50%)' });
      const md = fs.readFileSync(report, 'utf8');
      expect(md).toMatch(/^# PostgreSQL health: CRITICAL\n/);
      expect(md).toContain('| Dead tuples | CRITICAL | most dead rows: public."Dead ""rows"" \\| ü" 75% dead (1500 of 2000) (critical over 50%) |');
      expect(md).toContain('| public."Dead ""rows"" \\| ü" | 1500 | 500 | 75% | never |');
      // --report - prints the markdown instead of the status lines
      const printed = await runCli(['health', '--db', c.url('shop'), '--cache-hit-critical', '0', '--dead-tuples-min', '100', '--report', '-']);
      expect(printed.exitCode).toBe(2);
      expect(printed.stdout).toMatch(/^# PostgreSQL health: CRITICAL\nrunbook: runbooks\/index-bloat\.md#4-dead-rows-in-tables\n/);
      // below --dead-tuples-min it is not graded
      expect(checkOf(await health(['--dead-tuples-min', '5000']), 'dead_tuples').level).toBe(0);
    } finally {
      c.psql(`DROP TABLE "Dead ""rows"" | ü";`, 'shop');
    }
  });

  it('lists never-scanned indexes but never unique or primary-key ones, with stats_reset', async () => {
    const r = await health(['--unused-index-min-size', '0']);
    const unused = checkOf(r, 'unused_indexes');
    expect(unused.level).toBe(0);
    expect(unused.table!.rows.map((row) => row[0])).toEqual(['public.accounts_region']);
    expect(unused.message).toMatch(/^1 index\(es\) never scanned since the statistics began \(never reset\) \(16\.0 kB\)$/);
    expect(checkOf(await health(), 'unused_indexes').table).toBeUndefined(); // under the 1MB default
  });

  it('grades the slowest statement from pg_stat_statements, database size and XID age when asked', async () => {
    c.psql('SELECT pg_stat_statements_reset(); SELECT pg_sleep(0.3);', 'shop');
    const r = await health(['--slow-statement-warning', '200ms', '--database-size-warning', '1MB', '--xid-age-warning', '0']);
    expect(r.exitCode).toBe(1);
    const slow = checkOf(r, 'statements');
    expect(slow.level).toBe(1);
    expect(slow.message).toMatch(/^slowest statement 3\d\d\.\d ms mean over 1 call\(s\): SELECT pg_sleep\(\$1\)$/);
    expect(checkOf(r, 'sizes').level).toBe(1);
    expect(checkOf(r, 'wraparound').level).toBe(1);
    // without limits they are only listed
    const listed = await health();
    expect(checkOf(listed, 'statements')).toMatchObject({ level: 0 });
    expect(checkOf(listed, 'statements').message).toContain('(not graded)');
  });

  it('grades a poor cache hit ratio', async () => {
    const r = await runCli(['health', '--db', c.url('shop'), '--cache-hit-warning', '100', '--cache-hit-critical', '0', '--json']);
    expect(checkOf(r, 'cache_hit')).toMatchObject({ level: 1 });
    expect(checkOf(r, 'cache_hit').message).toMatch(/^cache hit ratio of shop [\d.]+% \(warning under 100%\)$/);
  });

  it('is UNKNOWN, as a status line, when it cannot connect', async () => {
    const r = await runCli(['health', '--db', `postgresql://root@127.0.0.1:${await freePort()}/shop`]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toMatch(/^PGOPS HEALTH UNKNOWN - cannot connect to postgresql:\/\/root@127\.0\.0\.1:\d+\/shop/);
  });
});
