import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli, spawnCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';

// pgops reindex on a real cluster: bloat, leftovers of failed rebuilds, lock timeouts, awkward names.
let c: Cluster;
const sessions: pg.Client[] = [];

beforeAll(async () => {
  c = await startCluster({ settings: { autovacuum: 'off' } });
});

afterAll(async () => {
  for (const s of sessions) await s.end().catch(() => {});
  await c?.stop();
});

async function newDb(name: string): Promise<string> {
  await c.query(`CREATE DATABASE ${name}`);
  return c.url(name);
}

// Another client session, as an application would hold one.
async function session(db: string): Promise<pg.Client> {
  const s = new pg.Client({ host: c.dir, port: c.port, user: 'root', database: db });
  s.on('error', () => {});
  await s.connect();
  sessions.push(s);
  return s;
}

const logs = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { kind: string; level: string; message: string; [k: string]: unknown });
const indexes = async (db: string, table: string) =>
  c.query<{ name: string; valid: boolean; size: string; oid: string }>(
    `SELECT c.relname AS name, i.indisvalid AS valid, pg_relation_size(c.oid)::text AS size, c.oid::text AS oid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass ORDER BY 1`, [table], db);

// a table whose index keeps the pages of 100 000 rows after nine in ten are deleted and vacuumed away
const bloated = (table: string, index: string, rows = 100_000) => `
  CREATE TABLE ${table} (id int, note text);
  INSERT INTO ${table} SELECT g, md5(g::text) FROM generate_series(1, ${rows}) g;
  CREATE INDEX ${index} ON ${table} (note);
  DELETE FROM ${table} WHERE id % 10 <> 0;
  VACUUM ANALYZE ${table};`;

describe('pgops reindex', () => {
  it('rebuilds an index bloated by a mass delete, and it is smaller afterwards (estimate first, then pgstatindex)', async () => {
    const url = await newDb('bloat');
    c.psql(bloated('orders', 'orders_note'), 'bloat');
    const [before] = await indexes('bloat', 'orders');

    const dry = await runCli(['reindex', '--db', url, '--min-size', '1MB', '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const plan = jsonData(dry.stdout);
    expect(plan).toMatchObject({ execute: false, bloatSource: 'estimate', checked: 1, leftovers: [] });
    expect(plan.indexes.map((i: { index: string; reason: string; status: string }) => [i.index, i.reason, i.status])).toEqual([['orders_note', 'bloat', 'planned']]);
    expect(plan.indexes[0].bloatPercent).toBeGreaterThan(80);
    expect(logs(dry.stderr).find((e) => e.kind === 'plan')!.message).toContain('bloat estimated from table statistics (pgstattuple is not installed');
    expect(await indexes('bloat', 'orders')).toEqual([before]);

    c.psql('CREATE EXTENSION pgstattuple', 'bloat');
    const run = await runCli(['reindex', '--db', url, '--min-size', '1MB', '--execute', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = jsonData(run.stdout);
    expect(result.bloatSource).toBe('pgstatindex');
    const [after] = await indexes('bloat', 'orders');
    expect(after.valid).toBe(true);
    expect(after.oid).not.toBe(before.oid);
    expect(result.indexes).toMatchObject([{ index: 'orders_note', status: 'done', bloatSource: 'pgstatindex', sizeBefore: Number(before.size), sizeAfter: Number(after.size), attempts: 1 }]);
    expect(Number(after.size)).toBeLessThan(Number(before.size) / 5);
    // the plan is logged before the rebuild, the rebuild before it is done
    expect(logs(run.stderr).map((e) => e.kind).filter((k) => ['plan', 'rebuild', 'rebuilt', 'done'].includes(k))).toEqual(['plan', 'rebuild', 'rebuilt', 'done']);
    expect(logs(run.stderr).find((e) => e.kind === 'rebuild')!.message).toContain('REINDEX INDEX CONCURRENTLY "public"."orders_note"');
  });

  it('falls back to the estimate, saying so, for a role that may not call pgstatindex', async () => {
    // runs after the test above: pgstattuple is installed in "bloat"; ops owns its table but is not in pg_stat_scan_tables
    await c.query('CREATE ROLE ops LOGIN');
    c.psql('GRANT CREATE ON SCHEMA public TO ops', 'bloat');
    c.psql(`SET ROLE ops; ${bloated('ops_orders', 'ops_orders_note', 30_000)}`, 'bloat');
    const r = await runCli(['reindex', '--db', c.url('bloat', 'ops'), '--min-size', '100kB', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const plan = jsonData(r.stdout);
    expect(plan.bloatSource).toBe('pgstatindex');
    expect(plan.indexes).toMatchObject([{ index: 'ops_orders_note', bloatSource: 'estimate', status: 'planned' }]);
    expect(logs(r.stderr).filter((e) => e.kind === 'measure').map((e) => e.message)).toContain(
      'pgstatindex failed on public.ops_orders_note: permission denied for function pgstatindex; using the statistical estimate for it',
    );
  });

  it('on SIGTERM cancels the rebuild on the server, drops what it left, and exits 2', async () => {
    await newDb('interrupt');
    c.psql(`CREATE TABLE jobs (id int PRIMARY KEY); INSERT INTO jobs SELECT generate_series(1, 20000);`, 'interrupt');
    // an old snapshot keeps REINDEX CONCURRENTLY waiting (with a long lock_timeout) after it built jobs_pkey_ccnew
    const app = await session('interrupt');
    await app.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await app.query('SELECT 1');
    const child = spawnCli(['reindex', '--db', c.url('interrupt'), '--index', 'jobs_pkey', '--execute', '--lock-timeout', '60s']);
    const deadline = Date.now() + 20_000;
    while (!(await c.query(`SELECT 1 FROM pg_stat_activity WHERE query LIKE 'REINDEX%' AND wait_event_type = 'Lock'`, [], 'interrupt')).length) {
      if (Date.now() > deadline) throw new Error('the rebuild never started waiting');
      await new Promise((r) => setTimeout(r, 50));
    }
    const stopped = Date.now();
    child.kill('SIGTERM');
    const r = await child;
    await app.query('COMMIT');
    expect(r.exitCode, r.all).toBe(2);
    expect(Date.now() - stopped).toBeLessThan(10_000);
    expect(r.all).toContain('cancelling the running statement');
    expect(r.all).toContain('DROP INDEX CONCURRENTLY IF EXISTS \\"public\\".\\"jobs_pkey_ccnew\\"');
    expect((await indexes('interrupt', 'jobs')).map((i) => [i.name, i.valid])).toEqual([['jobs_pkey', true]]);
  });

  it('lists the INVALID _ccnew and _ccold leftovers of failed concurrent rebuilds, and drops them with --execute', async () => {
    const url = await newDb('leftover');
    c.psql(`CREATE TABLE items (id int, v text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 20000) g; CREATE INDEX items_v ON items (v);`, 'leftover');
    // an earlier, hand-run REINDEX CONCURRENTLY that hit lock_timeout while waiting for an old snapshot: items_v_ccnew stays
    const dba = await session('leftover');
    const app = await session('leftover');
    await dba.query(`SET lock_timeout = '300ms'`);
    await app.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await app.query('SELECT 1');
    await expect(dba.query('REINDEX INDEX CONCURRENTLY items_v')).rejects.toThrow('lock timeout');
    await app.query('COMMIT');
    // another one that failed after the swap, waiting for a reader to let go of the table: the old index stays as items_v_ccold
    await app.query('BEGIN');
    await app.query('SELECT count(*) FROM items');
    await expect(dba.query('REINDEX INDEX CONCURRENTLY items_v')).rejects.toThrow('lock timeout');
    await app.query('COMMIT');
    expect((await indexes('leftover', 'items')).map((i) => [i.name, i.valid])).toEqual([['items_v', true], ['items_v_ccnew', false], ['items_v_ccold', false]]);

    const dry = await runCli(['reindex', '--db', url, '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(jsonData(dry.stdout).leftovers.map((l: { index: string; status: string }) => [l.index, l.status])).toEqual([['items_v_ccnew', 'planned'], ['items_v_ccold', 'planned']]);
    expect((await indexes('leftover', 'items')).length).toBe(3);

    const run = await runCli(['reindex', '--db', url, '--execute', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(jsonData(run.stdout).leftovers.map((l: { index: string; status: string }) => [l.index, l.status])).toEqual([['items_v_ccnew', 'done'], ['items_v_ccold', 'done']]);
    expect((await indexes('leftover', 'items')).map((i) => [i.name, i.valid])).toEqual([['items_v', true]]);
    expect(logs(run.stderr).filter((e) => e.kind === 'drop').map((e) => e.message)).toEqual([
      expect.stringContaining('DROP INDEX CONCURRENTLY "public"."items_v_ccnew"'),
      expect.stringContaining('DROP INDEX CONCURRENTLY "public"."items_v_ccold"'),
    ]);
  });

  describe('when another session holds a conflicting lock', () => {
    let url: string;
    beforeAll(async () => {
      url = await newDb('locked');
      c.psql(`CREATE TABLE accounts (id int PRIMARY KEY, owner text); INSERT INTO accounts SELECT g, 'o' || g FROM generate_series(1, 20000) g;`, 'locked');
    });

    it('times out on the lock, retries with backoff instead of hanging, and succeeds once the lock is released', async () => {
      const app = await session('locked');
      await app.query('BEGIN');
      await app.query('LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE');
      const release = setTimeout(() => void app.query('COMMIT'), 1200);
      const started = Date.now();
      const r = await runCli(['reindex', '--db', url, '--index', 'public.accounts_pkey', '--execute', '--json', '--lock-timeout', '200ms', '--lock-retries', '6', '--lock-retry-delay', '250ms']);
      clearTimeout(release);
      expect(r.exitCode, r.stderr).toBe(0);
      const [item] = jsonData(r.stdout).indexes;
      expect(item).toMatchObject({ index: 'accounts_pkey', reason: 'named', status: 'done' });
      expect(item.attempts).toBeGreaterThanOrEqual(2);
      const retries = logs(r.stderr).filter((e) => e.kind === 'retry');
      expect(retries.length).toBe(item.attempts - 1);
      expect(retries[0].message).toMatch(/^REINDEX INDEX CONCURRENTLY "public"."accounts_pkey": canceling statement due to lock timeout \(attempt 1 of 7\); retrying in 0\.3s$/);
      expect(retries[0].sqlstate).toBe('55P03');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await indexes('locked', 'accounts')).map((i) => [i.name, i.valid])).toEqual([['accounts_pkey', true]]);
    });

    it('gives up after the bounded retries with exit 2, saying why, and leaves nothing behind', async () => {
      const app = await session('locked');
      await app.query('BEGIN');
      await app.query('LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE');
      const started = Date.now();
      const r = await runCli(['reindex', '--db', url, '--index', 'accounts_pkey', '--execute', '--lock-timeout', '100ms', '--lock-retries', '2', '--lock-retry-delay', '100ms']);
      await app.query('COMMIT');
      expect(r.exitCode).toBe(2);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(r.stdout).toMatch(/rebuild\s+public\.accounts_pkey\s+public\.accounts\s+\S+ kB\s+\S+s\s+failed \(3 attempts\): canceling statement due to lock timeout \(SQLSTATE 55P03\)/);
      expect(r.stdout).toMatch(/reindex of database "locked": 0 done, 1 failed, 0 skipped/);
      const failure = logs(r.stderr).find((e) => e.level === 'error')!;
      expect(failure.message).toBe('REINDEX INDEX CONCURRENTLY "public"."accounts_pkey" failed after 3 attempt(s): canceling statement due to lock timeout (SQLSTATE 55P03)');
      expect(failure.hint).toMatch(/another session held a conflicting lock/);
      expect((await indexes('locked', 'accounts')).map((i) => [i.name, i.valid])).toEqual([['accounts_pkey', true]]);
    });

    it('drops what an attempt that timed out half-way left, and succeeds on a later attempt', async () => {
      // an old snapshot makes REINDEX CONCURRENTLY wait after it has built accounts_pkey_ccnew
      const app = await session('locked');
      await app.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await app.query('SELECT 1');
      const release = setTimeout(() => void app.query('COMMIT'), 1500);
      const r = await runCli(['reindex', '--db', url, '--index', 'accounts_pkey', '--execute', '--json', '--lock-timeout', '300ms', '--lock-retries', '6', '--lock-retry-delay', '300ms']);
      clearTimeout(release);
      expect(r.exitCode, r.stderr).toBe(0);
      const [item] = jsonData(r.stdout).indexes;
      expect(item).toMatchObject({ status: 'done', leftBehind: [] });
      expect(item.attempts).toBeGreaterThanOrEqual(2);
      const cleanups = logs(r.stderr).filter((e) => e.kind === 'cleanup');
      expect(cleanups.length).toBe(item.attempts - 1);
      expect(cleanups[0].message).toBe('the failed attempt left public.accounts_pkey_ccnew (invalid): DROP INDEX CONCURRENTLY IF EXISTS "public"."accounts_pkey_ccnew"');
      expect((await indexes('locked', 'accounts')).map((i) => [i.name, i.valid])).toEqual([['accounts_pkey', true]]);
    });
  });

  it('treats names with quotes, spaces, non-ASCII letters and an injection attempt as names', async () => {
    const url = await newDb('names');
    c.psql(`CREATE SCHEMA "Sales Ü"; CREATE TABLE victims (id int); INSERT INTO victims VALUES (1);
      ${bloated('"Sales Ü"."we""ird table"', '"x""; DROP TABLE victims; --"', 30_000)}`, 'names');
    const weird = '"Sales Ü"."x""; DROP TABLE victims; --"';

    const named = await runCli(['reindex', '--db', url, '--index', weird, '--json', '--log-format', 'human']);
    expect(named.exitCode, named.stderr).toBe(0);
    expect(jsonData(named.stdout).indexes).toMatchObject([{ schema: 'Sales Ü', table: 'we"ird table', index: 'x"; DROP TABLE victims; --', status: 'planned' }]);
    expect(named.stderr).toContain(`1  ${weird}  "Sales Ü"."we""ird table"`);

    const run = await runCli(['reindex', '--db', url, '--min-size', '100kB', '--execute', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const [item] = jsonData(run.stdout).indexes;
    expect(item).toMatchObject({ index: 'x"; DROP TABLE victims; --', reason: 'bloat', status: 'done' });
    expect(item.sizeAfter).toBeLessThan(item.sizeBefore / 3);
    expect(await c.query('SELECT count(*)::int AS n FROM victims', [], 'names')).toEqual([{ n: 1 }]);
  });

  it('caps the run with --max-indexes and --max-duration, listing the rest as skipped (exit 1)', async () => {
    const url = await newDb('caps');
    c.psql(`${bloated('a', 'a_note', 30_000)} ${bloated('b', 'b_note', 60_000)}`, 'caps');
    const capped = await runCli(['reindex', '--db', url, '--min-size', '100kB', '--max-indexes', '1', '--json']);
    expect(capped.exitCode).toBe(1);
    expect(jsonData(capped.stdout).indexes.map((i: { index: string; status: string; note: string | null }) => [i.index, i.status, i.note])).toEqual([
      ['b_note', 'planned', null],
      ['a_note', 'skipped', 'over --max-indexes 1: the next run takes it'],
    ]);
    const before = await indexes('caps', 'b');
    const late = await runCli(['reindex', '--db', url, '--min-size', '100kB', '--max-duration', '0s', '--execute', '--json']);
    expect(late.exitCode).toBe(1);
    expect(jsonData(late.stdout).indexes.map((i: { status: string; note: string }) => [i.status, i.note])).toEqual([
      ['skipped', 'not started: the run reached --max-duration'],
      ['skipped', 'not started: the run reached --max-duration'],
    ]);
    expect(await indexes('caps', 'b')).toEqual(before);
  });

  it('refuses an --index that does not exist, before changing anything (exit 3)', async () => {
    const r = await runCli(['reindex', '--db', c.url('caps'), '--index', 'public.A_NOTE', '--execute']);
    expect(r.exitCode).toBe(3);
    expect(logs(r.stderr).find((e) => e.level === 'error')).toMatchObject({ message: 'index public.A_NOTE does not exist in database "caps"', hint: expect.stringContaining('case-sensitive') });
  });
});
