import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage } from '../../../tools/runbook-drill/follow.ts';
import { clusterHost, drillScratch, recordPassed } from '../../support/drill.ts';
import { pitrWorld, queryOn, recoveredCopy, type PitrWorld, type RecoveredCopy } from '../../support/drill-pitr.ts';

// runbooks/before-risky-migration.md as a drill: a cluster archiving into a folder repository, its database app
// with a table of orders. The page's preparation: a labelled, pinned logical set and base backup, checked in
// backups list, a restore point, archived at once; then migration 42, run as the page runs a SQL file, goes wrong:
// it drops a column and deletes a third of the rows. The page's way back chosen here is the whole cluster at the
// restore point, recovered into a new data directory on another port: it must hold every row and column as they
// were before the migration, while the live database is left as the migration made it.

const FAILURE = 'migration 42 drops a column and deletes rows; the way back: the labelled base backup recovered to the restore point';
const MIGRATION = "ALTER TABLE public.orders DROP COLUMN note;\nDELETE FROM public.orders WHERE status = 'cancelled';\n";

type Row = { id: number; status: string; note: string };
const ROWS = 'SELECT * FROM public.orders ORDER BY id';

describe('runbooks/before-risky-migration.md, drilled', () => {
  let w: PitrWorld;
  let scratch: string;
  let copy: RecoveredCopy;
  let before: Row[];
  let migration: string;

  beforeAll(async () => {
    w = await pitrWorld();
    scratch = drillScratch('before-risky-migration');
    copy = await recoveredCopy(scratch, '/var/lib/postgresql/15/before-42', 'before-42');
    migration = path.join(scratch, '42.sql');
    fs.writeFileSync(migration, MIGRATION);
    await w.cluster.query('CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, note text NOT NULL)', [], 'app');
    await w.cluster.query(`INSERT INTO orders SELECT g, CASE WHEN g % 3 = 0 THEN 'cancelled' ELSE 'open' END, md5(g::text) FROM generate_series(1, 300) g`, [], 'app');
    before = await queryOn<Row>(w.cluster.port, 'app', ROWS);
  });

  afterAll(async () => {
    await copy?.stop();
    await w?.cleanup();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('following the page: the migration goes wrong, and the way back has the data as it was before it', async () => {
    const r = await followPage({
      page: 'before-risky-migration.md',
      host: clusterHost(w.cluster, { fileRepo: w.root, config: w.config, more: copy.rewrites }),
      cwd: scratch,
      binds: { 'migration file': migration },
      judgements: {
        '1-take-the-labelled-pinned-backups:2': { run: true, why: 'the cluster archives its WAL: a base backup too' },
        '3-mark-the-moment-and-run-the-migration:3': { run: true, why: 'migration 42 is a SQL file, run with psql' },
        '5-if-it-went-wrong-get-back:1': { skip: 'a column is gone from the whole table, not a few rows' },
        '5-if-it-went-wrong-get-back:2': { skip: 'the database owner chose the whole cluster at the restore point: nothing written before the migration is lost' },
        '5-if-it-went-wrong-get-back:3': { run: true, why: 'the whole cluster, as it was at the restore point right before the migration' },
      },
    });
    const out = (id: string) => r.runs.find((x) => x.id === id)?.output ?? '';
    // the migration did its damage to the live database, which the way back leaves alone
    expect(out('3-mark-the-moment-and-run-the-migration:3')).toContain(`DELETE ${before.filter((x) => x.status === 'cancelled').length}`);
    const live = await queryOn<Record<string, unknown>>(w.cluster.port, 'app', ROWS);
    expect(live).toHaveLength(200);
    expect(Object.keys(live[0])).toEqual(['id', 'status']);
    // the labelled sets, both of them
    expect(r.verifyOutput.trim().split('\n')).toHaveLength(2);
    // the recovered cluster, paused at the restore point: every row and column as before the migration
    expect(await queryOn(copy.port, 'app', 'SELECT pg_is_in_recovery() AS r, pg_get_wal_replay_pause_state() AS s')).toEqual([{ r: true, s: 'paused' }]);
    expect(await queryOn<Row>(copy.port, 'app', ROWS)).toEqual(before);
    recordPassed(FAILURE, r);
  });
});
