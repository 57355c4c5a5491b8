import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';

// pgops refresh-matviews on a real cluster.
let c: Cluster;
let url: string;
const DB = 'app';
const WEIRD = '"Sales Ü"."x""; DROP TABLE victims; --"';
const logs = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { kind: string; level: string; message: string; [k: string]: unknown });
const count = async (rel: string) => (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${rel}`, [], DB))[0].n;
type Item = { schema: string; name: string; concurrently: boolean; status: string; note: string | null; durationMs: number | null; attempts: number | null };
const views = (stdout: string) => jsonData(stdout).matviews as Item[];

beforeAll(async () => {
  c = await startCluster();
  await c.query(`CREATE DATABASE ${DB}`);
  url = c.url(DB);
  // z_orders_mv is read by a_totals through a plain view: dependency order differs from name order
  c.psql(`
    CREATE TABLE victims (id int); INSERT INTO victims VALUES (1);
    CREATE TABLE orders (id int PRIMARY KEY, amount int); INSERT INTO orders SELECT g, g FROM generate_series(1, 100) g;
    CREATE MATERIALIZED VIEW z_orders_mv AS SELECT id, amount FROM orders;
    CREATE UNIQUE INDEX ON z_orders_mv (id);
    CREATE VIEW big_orders AS SELECT * FROM z_orders_mv WHERE amount > 10;
    CREATE MATERIALIZED VIEW a_totals AS SELECT count(*) AS n, sum(amount) AS total FROM big_orders;
    CREATE MATERIALIZED VIEW m_unpopulated AS SELECT id FROM orders WITH NO DATA;
    CREATE UNIQUE INDEX ON m_unpopulated (id);
    CREATE SCHEMA "Sales Ü";
    CREATE MATERIALIZED VIEW ${WEIRD} AS SELECT id AS "the id" FROM orders;
    CREATE UNIQUE INDEX ON ${WEIRD} ("the id");
    INSERT INTO orders SELECT g, g FROM generate_series(101, 150) g;`, DB);
});

afterAll(async () => {
  await c?.stop();
});

describe('pgops refresh-matviews', () => {
  it('refreshes every view one at a time, each after the views it reads, CONCURRENTLY where a unique index allows', async () => {
    const dry = await runCli(['refresh-matviews', '--db', url, '--json']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(views(dry.stdout).map((v) => [v.schema, v.name, v.concurrently, v.status])).toEqual([
      ['Sales Ü', 'x"; DROP TABLE victims; --', true, 'planned'],
      ['public', 'm_unpopulated', false, 'planned'],
      ['public', 'z_orders_mv', true, 'planned'],
      ['public', 'a_totals', false, 'planned'],
    ]);
    expect(await count('z_orders_mv')).toBe(100);

    const run = await runCli(['refresh-matviews', '--db', url, '--execute', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const done = views(run.stdout);
    expect(done.map((v) => v.status)).toEqual(['done', 'done', 'done', 'done']);
    for (const v of done) expect(v.durationMs).toBeGreaterThanOrEqual(0);
    expect(logs(run.stderr).filter((e) => e.kind === 'refresh').map((e) => e.message.replace(/ \(\d.*$/, ''))).toEqual([
      `REFRESH MATERIALIZED VIEW CONCURRENTLY "Sales Ü"."x""; DROP TABLE victims; --"`,
      'REFRESH MATERIALIZED VIEW "public"."m_unpopulated"',
      'REFRESH MATERIALIZED VIEW CONCURRENTLY "public"."z_orders_mv"',
      'REFRESH MATERIALIZED VIEW "public"."a_totals"',
    ]);
    expect(await count('z_orders_mv')).toBe(150);
    expect(await count(WEIRD)).toBe(150);
    expect(await count('m_unpopulated')).toBe(150);
    // a_totals was refreshed after z_orders_mv, so it sees the new orders
    expect(await c.query('SELECT n::int AS n FROM a_totals', [], DB)).toEqual([{ n: 140 }]);
    expect(await count('victims')).toBe(1);
    expect(logs(run.stderr).at(-1)!.message).toMatch(/^refresh of database "app": 4 done in \d/);
  });

  it('refreshes only the --matview views, and --concurrently-only skips one that would block its readers (exit 1)', async () => {
    c.psql('INSERT INTO orders SELECT g, g FROM generate_series(151, 160) g;', DB);
    const r = await runCli(['refresh-matviews', '--db', url, '--matview', 'public.a_totals', '--matview', WEIRD, '--concurrently-only', '--execute', '--json']);
    expect(r.exitCode).toBe(1);
    expect(views(r.stdout).map((v) => [v.name, v.status, v.note])).toEqual([
      ['x"; DROP TABLE victims; --', 'done', null],
      ['a_totals', 'skipped', '--concurrently-only: a plain refresh would block its readers'],
    ]);
    expect(await count(WEIRD)).toBe(160);
    expect(await count('z_orders_mv')).toBe(150);
  });

  it('retries a refresh that waits on a lock held by another session, and refreshes it once the lock is released', async () => {
    c.psql('INSERT INTO orders SELECT g, g FROM generate_series(161, 170) g;', DB);
    const app = new pg.Client({ host: c.dir, port: c.port, user: 'root', database: DB });
    await app.connect();
    try {
      // a hand-run refresh in a transaction left open holds the view's EXCLUSIVE lock until it commits
      await app.query('BEGIN');
      await app.query('REFRESH MATERIALIZED VIEW CONCURRENTLY z_orders_mv');
      const release = setTimeout(() => void app.query('COMMIT'), 800);
      const r = await runCli(['refresh-matviews', '--db', url, '--matview', 'z_orders_mv', '--execute', '--json', '--lock-timeout', '200ms', '--lock-retries', '5', '--lock-retry-delay', '200ms']);
      clearTimeout(release);
      expect(r.exitCode, r.stderr).toBe(0);
      const [v] = views(r.stdout);
      expect(v).toMatchObject({ name: 'z_orders_mv', status: 'done' });
      expect(v.attempts).toBeGreaterThanOrEqual(2);
      expect(logs(r.stderr).filter((e) => e.kind === 'retry')[0].message).toBe(
        'REFRESH MATERIALIZED VIEW CONCURRENTLY "public"."z_orders_mv": canceling statement due to lock timeout (attempt 1 of 6); retrying in 0.2s',
      );
      expect(await count('z_orders_mv')).toBe(170);
    } finally {
      await app.end();
    }
  });

  it('refuses a --matview that does not exist (exit 3)', async () => {
    const r = await runCli(['refresh-matviews', '--db', url, '--matview', 'public.nope', '--execute']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('materialized view public.nope does not exist in database \\"app\\"');
  });
});
