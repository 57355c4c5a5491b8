import type pg from 'pg';

// One materialized view, with what choosing how to refresh it takes.
export interface Matview {
  oid: number;
  schema: string;
  name: string;
  populated: boolean;
  /** a unique index REFRESH ... CONCURRENTLY can use (plain columns, no WHERE, valid, not deferred), if one exists */
  uniqueIndex: string | null;
  /** the role owns it (or is a member of the owner): REFRESH needs that */
  mayRefresh: boolean;
  sizeBytes: number;
  /** materialized views this one reads, directly or through plain views */
  dependsOn: number[];
}

export async function listMatviews(client: pg.Client): Promise<Matview[]> {
  const { rows } = await client.query<Record<string, unknown>>(
    `SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relispopulated AS populated,
            (SELECT ci.relname FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
              WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indimmediate
                AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnatts > 0
              ORDER BY ci.relname LIMIT 1) AS unique_index,
            pg_has_role(c.relowner, 'USAGE') AS may_refresh,
            pg_total_relation_size(c.oid)::int8 AS size
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'm' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      ORDER BY n.nspname, c.relname`,
  );
  const deps = await matviewDependencies(client);
  return rows.map((r) => ({
    oid: Number(r.oid),
    schema: String(r.schema),
    name: String(r.name),
    populated: Boolean(r.populated),
    uniqueIndex: (r.unique_index as string | null) ?? null,
    mayRefresh: Boolean(r.may_refresh),
    sizeBytes: Number(r.size),
    dependsOn: deps.filter((d) => d.mv === Number(r.oid)).map((d) => d.dep),
  }));
}

// Which materialized views each one reads: its query's dependencies, followed through plain views.
async function matviewDependencies(client: pg.Client): Promise<{ mv: number; dep: number }[]> {
  const { rows } = await client.query<{ mv: string; dep: string }>(
    `WITH RECURSIVE reads(mv, ref) AS (
       SELECT r.ev_class, d.refobjid
         FROM pg_rewrite r
         JOIN pg_class m ON m.oid = r.ev_class AND m.relkind = 'm'
         JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
        WHERE d.refobjid <> r.ev_class
       UNION
       SELECT reads.mv, d.refobjid
         FROM reads
         JOIN pg_class v ON v.oid = reads.ref AND v.relkind = 'v'
         JOIN pg_rewrite r ON r.ev_class = v.oid
         JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
        WHERE d.refobjid <> v.oid
     )
     SELECT DISTINCT reads.mv::int8 AS mv, reads.ref::int8 AS dep
       FROM reads JOIN pg_class c ON c.oid = reads.ref AND c.relkind = 'm'
      WHERE reads.ref <> reads.mv`,
  );
  return rows.map((r) => ({ mv: Number(r.mv), dep: Number(r.dep) }));
}
