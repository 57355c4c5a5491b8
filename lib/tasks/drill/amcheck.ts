import type pg from 'pg';
import { messageOf } from '../../errors.ts';
import type { DrillCheck } from '../../repo/drill-reports.ts';

// Checks every B-tree index of the restored database with amcheck (bt_index_check, heapallindexed): one failed
// check per broken index. Skipped, with the reason, where the extension cannot be created.
export async function amcheckIndexes(client: pg.Client): Promise<DrillCheck[]> {
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS amcheck');
  } catch (err) {
    return [{ name: 'amcheck', status: 'skip', detail: `amcheck is not available on the drill server: ${messageOf(err)} (install postgresql-contrib)` }];
  }
  const { rows } = await client.query<{ oid: number; name: string }>(
    `SELECT c.oid::int AS oid, format('%I.%I', n.nspname, c.relname) AS name
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am am ON am.oid = c.relam
      WHERE am.amname = 'btree' AND c.relkind = 'i' AND i.indisvalid AND i.indisready AND c.relpersistence <> 't'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
      ORDER BY 2`,
  );
  const failures: DrillCheck[] = [];
  for (const idx of rows) {
    try {
      await client.query('SELECT bt_index_check(index => $1::regclass, heapallindexed => true)', [idx.oid]);
    } catch (err) {
      failures.push({ name: `amcheck ${idx.name}`, status: 'fail', detail: messageOf(err) });
    }
  }
  return [{ name: 'amcheck', status: failures.length ? 'fail' : 'pass', detail: `${rows.length - failures.length} of ${rows.length} B-tree indexes pass bt_index_check` }, ...failures];
}
