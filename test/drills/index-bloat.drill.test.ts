import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage } from '../../tools/runbook-drill/follow.ts';
import { runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { clusterHost, drillScratch, recordPassed } from '../support/drill.ts';

// runbooks/index-bloat.md as a drill: a table restored a while ago (pg_restore does not analyze, so it never was),
// then a purge of nine orders in ten, then the VACUUM that autovacuum would run. Its index on `note` keeps the pages
// of every row it ever held; reindex cannot even estimate that until the table is analyzed. Then the page, step by
// step. Afterwards the index is rebuilt and much smaller, both plans are empty, and the table's rows are the same.
// The cluster runs without autovacuum, so that nothing but the page analyzes or vacuums while it is followed.

const FAILURE = 'an index bloated by a mass delete (90% of rows) on a table never analyzed: reindex cannot estimate it';
const DB = 'shop';

describe('runbooks/index-bloat.md, drilled', () => {
  let cluster: Cluster;
  let scratch: string;
  let before: { oid: string; size: number };
  let rowsBefore: string;

  const noteIndex = async () => {
    const [i] = await cluster.query<{ oid: string; size: string }>(`SELECT 'public.orders_note_idx'::regclass::oid::text AS oid, pg_relation_size('public.orders_note_idx')::text AS size`, [], DB);
    return { oid: i.oid, size: Number(i.size) };
  };
  // every row of the table, as one digest: the page must change no data
  const rowsDigest = async () =>
    (await cluster.query<{ d: string }>(`SELECT count(*) || ':' || md5(string_agg(o::text, ',' ORDER BY id)) AS d FROM orders o`, [], DB))[0].d;

  beforeAll(async () => {
    cluster = await startCluster({ settings: { autovacuum: 'off' } });
    await cluster.query(`CREATE DATABASE ${DB}`);
    // three sessions, as the restore, the purge and autovacuum are: each flushes its statistics when it ends
    cluster.psql(`CREATE TABLE orders (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, status text NOT NULL, note text NOT NULL);
                  INSERT INTO orders SELECT g, timestamptz '2026-01-01' + g * interval '1 minute', 'shipped', md5(g::text) FROM generate_series(1, 200000) g;
                  CREATE INDEX orders_note_idx ON orders (note);`, DB);
    cluster.psql('DELETE FROM orders WHERE id % 10 <> 0;', DB);
    cluster.psql('VACUUM orders;', DB);
    scratch = drillScratch('index-bloat');
  });

  afterAll(async () => {
    await cluster?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: the index is ten times its data, and reindex cannot tell without statistics', async () => {
    before = await noteIndex();
    rowsBefore = await rowsDigest();
    expect(rowsBefore).toMatch(/^20000:/);
    expect(before.size).toBeGreaterThan(10 * 1024 * 1024);
    const plan = await runCli(['reindex', '--db', cluster.url(DB)]);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('nothing to do');
    expect(plan.stderr).toMatch(/not measured: public\.orders_note_idx: cannot estimate: .*never analyzed/);
  });

  it('following the page fixes it', async () => {
    const r = await followPage({
      page: 'index-bloat.md',
      host: clusterHost(cluster),
      cwd: scratch,
      binds: { database: DB },
      // health has nothing to say about an index's bloat: it is OK, and the plans are where the cause shows
      exits: { '1-read-the-plans:1': [0] },
      judgements: {
        '4-dead-rows-in-tables:1': { skip: 'pgops health shows no table with many dead rows: the purge was vacuumed' },
      },
    });
    const out = (id: string) => r.runs.find((x) => x.id === id)?.output ?? '';
    expect(out('1-read-the-plans:2')).toMatch(/public\.orders\s+table .*planned/);
    expect(out('2-analyze:1')).toMatch(/public\.orders\s+table .*done/);
    expect(out('3-reindex:1')).toMatch(/rebuild\s+public\.orders_note_idx .*done/);
    expect(r.verifyOutput).toContain('nothing to analyze');
    expect(r.verifyOutput).toContain('nothing to do: no leftovers, no index over the thresholds');

    // rebuilt (a new relation, CONCURRENTLY), far smaller, and the rows are those of before
    const after = await noteIndex();
    expect(after.oid).not.toBe(before.oid);
    expect(after.size).toBeLessThan(before.size / 5);
    const [valid] = await cluster.query<{ ok: boolean }>(`SELECT indisvalid AND indisready AS ok FROM pg_index WHERE indexrelid = 'public.orders_note_idx'::regclass`, [], DB);
    expect(valid.ok).toBe(true);
    expect(await rowsDigest()).toBe(rowsBefore);
    recordPassed(FAILURE, r);
  });
});
