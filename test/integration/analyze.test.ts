import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';

// pgops analyze on a real cluster; autovacuum is off so that only the test decides what is stale.
let c: Cluster;
let url: string;
const DB = 'app';

// Runs SQL and makes the session publish its table statistics before it returns (they are otherwise flushed lazily).
const psql = (sql: string) => c.psql(`${sql}\nSELECT pg_stat_force_next_flush();`, DB);
const logs = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { kind: string; level: string; message: string });
const lastAnalyze = async () => Object.fromEntries(
  (await c.query<{ name: string; at: Date | null }>(`SELECT relname AS name, last_analyze AS at FROM pg_stat_user_tables`, [], DB)).map((r) => [r.name, r.at?.getTime() ?? null]),
);
const picked = (stdout: string) => (jsonData(stdout).relations as { schema: string; name: string }[]).map((r) => `${r.schema}.${r.name}`);

beforeAll(async () => {
  c = await startCluster({ settings: { autovacuum: 'off' } });
  await c.query(`CREATE DATABASE ${DB}`);
  url = c.url(DB);
  const table = (name: string, opts = '') => `CREATE TABLE ${name} (id int, v text) ${opts}; INSERT INTO ${name} SELECT g, 'v' FROM generate_series(1, 1000) g;`;
  psql(`
    ${table('fresh')} ${table('stale')} ${table('low_threshold', 'WITH (autovacuum_analyze_threshold = 5, autovacuum_analyze_scale_factor = 0)')}
    ${table('high_threshold', 'WITH (autovacuum_analyze_scale_factor = 0.9)')}
    CREATE TABLE never_analyzed (id int); INSERT INTO never_analyzed VALUES (1), (2);
    CREATE TABLE victims (id int); INSERT INTO victims VALUES (1);
    CREATE SCHEMA "Sales Ü"; ${table('"Sales Ü"."we""ird table"')}
    CREATE TABLE "x""; DROP TABLE victims; --" (id int);
    CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
    CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
    CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
    INSERT INTO events SELECT g, date '2026-01-01' + g % 50 FROM generate_series(1, 1000) g;
    CREATE TABLE metrics (id int, at date) PARTITION BY RANGE (at);
    CREATE TABLE metrics_2026 PARTITION OF metrics FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    INSERT INTO metrics SELECT g, date '2026-01-01' + g % 300 FROM generate_series(1, 1000) g;`);
  psql(`ANALYZE fresh, stale, low_threshold, high_threshold, victims, "Sales Ü"."we""ird table", metrics;`);
  // changes after the analyze: 10 < 150, 400 > 150, 20 > 5, 400 < 950, 200 > 150
  psql(`
    UPDATE fresh SET v = 'w' WHERE id <= 10;
    UPDATE stale SET v = 'w' WHERE id <= 400;
    UPDATE low_threshold SET v = 'w' WHERE id <= 20;
    UPDATE high_threshold SET v = 'w' WHERE id <= 400;
    UPDATE "Sales Ü"."we""ird table" SET v = 'w' WHERE id <= 200;`);
});

afterAll(async () => {
  await c?.stop();
});

describe('pgops analyze', () => {
  it('picks exactly the stale tables and the partitioned parent, and analyzes only those with --execute', async () => {
    const dry = await runCli(['analyze', '--db', url, '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(picked(dry.stdout)).toEqual([
      'Sales Ü.we"ird table',
      'public.events',
      'public.low_threshold',
      'public.never_analyzed',
      'public.stale',
      'public.x"; DROP TABLE victims; --',
    ]);
    const why = Object.fromEntries((jsonData(dry.stdout).relations as { name: string; reasons: string[]; covers: { name: string }[] }[]).map((r) => [r.name, r]));
    expect(why.stale.reasons).toEqual(['400 rows changed since the last analyze > threshold 150 (50 + 0.1 × 1000 rows)']);
    expect(why.low_threshold.reasons).toEqual(['20 rows changed since the last analyze > threshold 5 (5 + 0 × 1000 rows, reloptions)']);
    expect(why.never_analyzed.reasons).toEqual(['never analyzed']);
    expect(why.events.reasons).toEqual(['never analyzed (autovacuum never analyzes partitioned tables)', '2 partition(s) due: events_2026_01, events_2026_02']);
    expect(why.events.covers.map((t) => t.name)).toEqual(['events_2026_01', 'events_2026_02']);
    const before = await lastAnalyze();
    expect(before.stale).not.toBeNull();
    expect(before.events).toBeNull();

    const run = await runCli(['analyze', '--db', url, '--execute', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = jsonData(run.stdout);
    expect(result.relations.map((r: { status: string }) => r.status)).toEqual(Array(6).fill('done'));
    for (const r of result.relations) expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect(logs(run.stderr).filter((e) => e.kind === 'analyze').map((e) => e.message.split(':')[0])).toEqual([
      'ANALYZE "Sales Ü"."we""ird table"', 'ANALYZE "public"."events"', 'ANALYZE "public"."low_threshold"',
      'ANALYZE "public"."never_analyzed"', 'ANALYZE "public"."stale"', 'ANALYZE "public"."x""; DROP TABLE victims; --"',
    ]);
    const after = await lastAnalyze();
    for (const t of ['stale', 'low_threshold', 'never_analyzed', 'events', 'events_2026_01', 'events_2026_02', 'we"ird table', 'x"; DROP TABLE victims; --']) expect(after[t], t).not.toBeNull();
    for (const t of ['fresh', 'high_threshold', 'metrics', 'metrics_2026', 'victims']) expect(after[t], t).toBe(before[t]);
    expect(await c.query('SELECT count(*)::int AS n FROM victims', [], DB)).toEqual([{ n: 1 }]);

    const again = await runCli(['analyze', '--db', url]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toBe('nothing to analyze: every table is within its autovacuum analyze threshold\ndry run on database "app": nothing to do; nothing changed; add --execute to run ANALYZE\n');
  });

  it('runs VACUUM (ANALYZE) instead with --vacuum', async () => {
    psql(`DELETE FROM fresh WHERE id <= 500;`);
    const run = await runCli(['analyze', '--db', url, '--vacuum', '--execute', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(jsonData(run.stdout)).toMatchObject({ command: 'VACUUM (ANALYZE)', relations: [{ name: 'fresh', status: 'done' }] });
    const [row] = await c.query<{ vacuumed: boolean; dead: string }>(`SELECT last_vacuum IS NOT NULL AS vacuumed, n_dead_tup::text AS dead FROM pg_stat_user_tables WHERE relname = 'fresh'`, [], DB);
    expect(row).toEqual({ vacuumed: true, dead: '0' });
  });

  it('does not run while another analyze of the database holds its advisory lock (exit 4)', async () => {
    psql(`UPDATE stale SET v = 'y' WHERE id <= 400;`);
    const other = new pg.Client({ host: c.dir, port: c.port, user: 'root', database: DB });
    await other.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(hashtextextended('pgops analyze', 0))`);
      const before = await lastAnalyze();
      const r = await runCli(['analyze', '--db', url, '--execute']);
      expect(r.exitCode).toBe(4);
      expect(logs(r.stderr).find((e) => e.level === 'error')!.message).toMatch(/^another pgops analyze is running on this database \(pid \d+/);
      expect(await lastAnalyze()).toEqual(before);
    } finally {
      await other.end();
    }
  });

  it('does not queue behind a conflicting lock: it times out, retries, reports the table as failed (exit 2) and analyzes the rest', async () => {
    psql(`UPDATE stale SET v = 'x' WHERE id <= 400; UPDATE low_threshold SET v = 'x' WHERE id <= 20;`);
    const blocker = new pg.Client({ host: c.dir, port: c.port, user: 'root', database: DB });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE stale IN SHARE UPDATE EXCLUSIVE MODE');
      const r = await runCli(['analyze', '--db', url, '--execute', '--json', '--lock-timeout', '100ms', '--lock-retries', '1', '--lock-retry-delay', '100ms']);
      expect(r.exitCode).toBe(2);
      const rel = Object.fromEntries((jsonData(r.stdout).relations as { name: string; status: string; attempts: number; error: string | null }[]).map((x) => [x.name, x]));
      expect(rel.stale).toMatchObject({ status: 'failed', attempts: 2, error: 'canceling statement due to lock timeout (SQLSTATE 55P03)' });
      expect(rel.low_threshold).toMatchObject({ status: 'done', attempts: 1 });
      expect(logs(r.stderr).filter((e) => e.kind === 'retry').map((e) => e.message)).toEqual([
        'ANALYZE "public"."stale": canceling statement due to lock timeout (attempt 1 of 2); retrying in 0.1s',
      ]);
    } finally {
      await blocker.end();
    }
  });
});
