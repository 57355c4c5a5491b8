import type pg from 'pg';

// One index as the catalogue describes it.
export interface IndexInfo {
  oid: number;
  schema: string;
  name: string;
  tableOid: number;
  table: string;
  /** bytes (pg_relation_size) */
  size: number;
  method: string;
  /** 'i' an index, 'I' a partitioned index */
  kind: 'i' | 'I';
  valid: boolean;
  /** false while a DROP INDEX CONCURRENTLY is under way */
  live: boolean;
  /** backs an exclusion constraint: REINDEX CONCURRENTLY cannot rebuild it */
  exclusion: boolean;
  /** named like the transient index of a concurrent rebuild: name_ccnew, name_ccnew1, name_ccold2, ... */
  leftoverName: boolean;
  /** pid of a CREATE INDEX or REINDEX running on the index's table right now, if one is */
  buildPid: number | null;
}

// The suffixes REINDEX CONCURRENTLY gives its transient indexes (ChooseRelationName with "ccnew"/"ccold").
export const LEFTOVER_SUFFIX = /_cc(new|old)[0-9]*$/;

// Every index of the database's own schemas (not pg_catalog, information_schema, TOAST or other sessions' temp
// tables). Names come back raw; they are quoted only when they go into SQL.
export async function listIndexes(client: pg.Client): Promise<IndexInfo[]> {
  const { rows } = await client.query<Record<string, unknown>>(
    `SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, i.indrelid::int8 AS table_oid, t.relname AS table,
            pg_relation_size(c.oid)::int8 AS size, am.amname AS method, c.relkind::text AS kind,
            i.indisvalid AS valid, i.indislive AS live,
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid AND k.contype = 'x') AS exclusion,
            (SELECT p.pid FROM pg_stat_progress_create_index p WHERE p.relid = i.indrelid LIMIT 1) AS build_pid
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_class t ON t.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am am ON am.oid = c.relam
      WHERE c.relkind IN ('i', 'I') AND c.relpersistence <> 't'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
      ORDER BY n.nspname, c.relname`,
  );
  return rows.map((r) => ({
    oid: Number(r.oid),
    schema: String(r.schema),
    name: String(r.name),
    tableOid: Number(r.table_oid),
    table: String(r.table),
    size: Number(r.size),
    method: String(r.method),
    kind: r.kind === 'I' ? 'I' : 'i',
    valid: Boolean(r.valid),
    live: Boolean(r.live),
    exclusion: Boolean(r.exclusion),
    leftoverName: LEFTOVER_SUFFIX.test(String(r.name)),
    buildPid: r.build_pid === null ? null : Number(r.build_pid),
  }));
}

// The invalid, transient-looking indexes of one table (what a failed REINDEX CONCURRENTLY leaves behind).
export async function leftoversOf(client: pg.Client, tableOid: number): Promise<{ oid: number; name: string }[]> {
  const { rows } = await client.query<{ oid: string; name: string }>(
    `SELECT c.oid::int8 AS oid, c.relname AS name
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1 AND NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$'`,
    [tableOid],
  );
  return rows.map((r) => ({ oid: Number(r.oid), name: r.name }));
}

// The oid and size of the index called schema.name now (a concurrent rebuild gives the name to a new oid).
export async function indexByName(client: pg.Client, schema: string, name: string): Promise<{ oid: number; size: number; valid: boolean } | undefined> {
  const { rows } = await client.query<{ oid: string; size: string; valid: boolean }>(
    `SELECT c.oid::int8 AS oid, pg_relation_size(c.oid)::int8 AS size, i.indisvalid AS valid
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_index i ON i.indexrelid = c.oid
      WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, name],
  );
  return rows[0] ? { oid: Number(rows[0].oid), size: Number(rows[0].size), valid: rows[0].valid } : undefined;
}
