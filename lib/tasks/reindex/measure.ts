import type pg from 'pg';
import { messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { displayName } from '../../pg/display-name.ts';
import { quoteIdent } from '../../pg/ident.ts';
import { bloatFromPgstatindex, bloatFromStats, type Bloat, type BloatSource, type IndexStats } from './bloat.ts';
import type { IndexInfo } from './catalog.ts';

// How bloat is measured in this database: pgstatindex when pgstattuple is installed here, else the estimate.
export interface MeasureSource {
  source: BloatSource;
  /** for the plan: "measured with pgstatindex (pgstattuple 1.5)" or why the estimate is used */
  describe: string;
  /** the extension's schema (pgstatindex is called schema-qualified, whatever the search_path) */
  schema?: string;
}

export async function measureSource(client: pg.Client): Promise<MeasureSource> {
  const { rows } = await client.query<{ schema: string; version: string }>(
    `SELECT n.nspname AS schema, e.extversion AS version FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgstattuple'`,
  );
  if (rows[0]) return { source: 'pgstatindex', schema: rows[0].schema, describe: `measured with pgstatindex (pgstattuple ${rows[0].version})` };
  return { source: 'estimate', describe: 'estimated from table statistics (pgstattuple is not installed; CREATE EXTENSION pgstattuple measures it)' };
}

// Bloat of each index, or why it could not be measured. pgstatindex reads the whole index; when it fails on an
// index (no privilege, statement_timeout) that index falls back to the estimate, and the log says so.
export async function measureBloat(client: pg.Client, indexes: readonly IndexInfo[], src: MeasureSource, log: Logger): Promise<Map<number, Bloat | string>> {
  const out = new Map<number, Bloat | string>();
  if (indexes.length === 0) return out;
  const stats = await indexStats(client, indexes.map((i) => i.oid));
  const blockSize = Number((await client.query<{ b: string }>(`SELECT current_setting('block_size') AS b`)).rows[0].b);
  for (const idx of indexes) {
    const st = stats.get(idx.oid);
    if (src.source === 'pgstatindex') {
      try {
        const { rows } = await client.query<Record<string, string | number>>(`SELECT * FROM ${quoteIdent(src.schema!)}.pgstatindex($1::oid::regclass)`, [idx.oid]);
        const r = rows[0];
        const row = {
          indexSize: Number(r.index_size),
          internalPages: Number(r.internal_pages),
          leafPages: Number(r.leaf_pages),
          emptyPages: Number(r.empty_pages),
          deletedPages: Number(r.deleted_pages),
          avgLeafDensity: Number(r.avg_leaf_density),
        };
        out.set(idx.oid, bloatFromPgstatindex(row, st?.fillfactor ?? 90, blockSize));
        continue;
      } catch (err) {
        log.warn('measure', `pgstatindex failed on ${displayName(idx.schema, idx.name)}: ${messageOf(err)}; using the statistical estimate for it`);
      }
    }
    const b = st ? bloatFromStats({ ...st, size: idx.size }, blockSize) : undefined;
    out.set(idx.oid, b ?? 'cannot estimate: pg_stats has no figures for its columns (the table was never analyzed; pgops analyze)');
  }
  return out;
}

// Per index: rows, fillfactor, and the average width and null fraction of its columns from pg_stats (expression
// columns are found under the index's own name, as ANALYZE stores them).
async function indexStats(client: pg.Client, oids: number[]): Promise<Map<number, Omit<IndexStats, 'size'>>> {
  const { rows } = await client.query<Record<string, string | number | boolean>>(
    `SELECT i.indexrelid::int8 AS oid,
            CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE t.reltuples END::float8 AS tuples,
            coalesce((SELECT o.option_value FROM pg_options_to_table(c.reloptions) o WHERE o.option_name = 'fillfactor')::int, 90) AS fillfactor,
            count(*)::int AS columns, count(s.attname)::int AS columns_with_stats,
            coalesce(sum((1 - s.null_frac) * s.avg_width), 0)::float8 AS data_width,
            coalesce(max(s.null_frac), 0) > 0 AS has_nulls
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace tn ON tn.oid = t.relnamespace
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, pos)
       LEFT JOIN pg_attribute a ON (k.attnum <> 0 AND a.attrelid = i.indrelid AND a.attnum = k.attnum)
                                OR (k.attnum = 0 AND a.attrelid = i.indexrelid AND a.attnum = k.pos)
       LEFT JOIN pg_stats s ON s.schemaname = tn.nspname AND s.attname = a.attname AND NOT s.inherited
                           AND s.tablename = CASE WHEN k.attnum <> 0 THEN t.relname ELSE c.relname END
      WHERE i.indexrelid = ANY($1::oid[])
      GROUP BY i.indexrelid, c.reltuples, t.reltuples, c.reloptions`,
    [oids],
  );
  return new Map(rows.map((r) => [Number(r.oid), {
    tuples: Number(r.tuples),
    fillfactor: Number(r.fillfactor),
    columns: Number(r.columns),
    columnsWithStats: Number(r.columns_with_stats),
    dataWidth: Number(r.data_width),
    hasNulls: Boolean(r.has_nulls),
  }]));
}
