import type pg from 'pg';

// One table, materialized view or partitioned table, with what deciding whether it needs ANALYZE takes.
export interface TableStat {
  oid: number;
  schema: string;
  name: string;
  /** r table, m materialized view, p partitioned table */
  kind: 'r' | 'm' | 'p';
  /** pg_class.reltuples (negative: never counted) */
  reltuples: number;
  /** rows inserted, updated or deleted since the last analyze (pg_stat_user_tables.n_mod_since_analyze) */
  changes: number;
  lastAnalyze: Date | null;
  lastAutoanalyze: Date | null;
  /** pg_stats has figures for it (survives a statistics reset, unlike last_analyze) */
  hasStats: boolean;
  /** per-table reloptions autovacuum_analyze_threshold / _scale_factor, when set */
  threshold: number | null;
  scaleFactor: number | null;
  /** partitioned tables this one is a partition of, nearest first */
  ancestors: number[];
  /** the role may ANALYZE it (owner, member of the owner, database owner or superuser); ANALYZE skips others with only a warning */
  mayAnalyze: boolean;
  sizeBytes: number;
}

// autovacuum_analyze_threshold and autovacuum_analyze_scale_factor of the server.
export interface AnalyzeDefaults {
  threshold: number;
  scaleFactor: number;
}

export async function analyzeDefaults(client: pg.Client): Promise<AnalyzeDefaults> {
  const { rows } = await client.query<{ t: string; s: string }>(
    `SELECT current_setting('autovacuum_analyze_threshold') AS t, current_setting('autovacuum_analyze_scale_factor') AS s`,
  );
  return { threshold: Number(rows[0].t), scaleFactor: Number(rows[0].s) };
}

// Every table, populated materialized view and partitioned table of the database's own schemas (no catalogues, no
// TOAST, no other session's temp tables).
export async function listTables(client: pg.Client): Promise<TableStat[]> {
  const { rows } = await client.query<Record<string, unknown>>(
    `SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, c.reltuples::float8 AS reltuples,
            coalesce(s.n_mod_since_analyze, 0)::int8 AS changes, s.last_analyze, s.last_autoanalyze,
            EXISTS (SELECT 1 FROM pg_stats st WHERE st.schemaname = n.nspname AND st.tablename = c.relname) AS has_stats,
            (SELECT o.option_value FROM pg_options_to_table(c.reloptions) o WHERE o.option_name = 'autovacuum_analyze_threshold') AS threshold,
            (SELECT o.option_value FROM pg_options_to_table(c.reloptions) o WHERE o.option_name = 'autovacuum_analyze_scale_factor') AS scale_factor,
            CASE WHEN c.relispartition
                 THEN ARRAY(SELECT a.relid::int8 FROM pg_partition_ancestors(c.oid) WITH ORDINALITY AS a(relid, depth) WHERE a.relid <> c.oid ORDER BY a.depth)
                 ELSE '{}'::int8[] END AS ancestors,
            (pg_has_role(c.relowner, 'USAGE')
              OR pg_has_role((SELECT d.datdba FROM pg_database d WHERE d.datname = current_database()), 'USAGE')) AS may_analyze,
            pg_total_relation_size(c.oid)::int8 AS size
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.relkind IN ('r', 'm', 'p') AND c.relpersistence <> 't' AND (c.relkind <> 'm' OR c.relispopulated)
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
      ORDER BY n.nspname, c.relname`,
  );
  return rows.map((r) => ({
    oid: Number(r.oid),
    schema: String(r.schema),
    name: String(r.name),
    kind: r.kind as TableStat['kind'],
    reltuples: Number(r.reltuples),
    changes: Number(r.changes),
    lastAnalyze: (r.last_analyze as Date | null) ?? null,
    lastAutoanalyze: (r.last_autoanalyze as Date | null) ?? null,
    hasStats: Boolean(r.has_stats),
    threshold: r.threshold === null ? null : Number(r.threshold),
    scaleFactor: r.scale_factor === null ? null : Number(r.scale_factor),
    ancestors: (r.ancestors as string[]).map(Number),
    mayAnalyze: Boolean(r.may_analyze),
    sizeBytes: Number(r.size),
  }));
}
