import type pg from 'pg';
import type { TableFingerprint } from '../manifest.ts';
import { qualified } from './ident.ts';

export type FingerprintMode = 'hash' | 'count' | 'none';

// Session settings under which a row's text form is the same on the backed-up and the restored server.
export const STABLE_TEXT_SETTINGS = [
  "SET LOCAL TimeZone = 'UTC'",
  "SET LOCAL DateStyle = 'ISO, YMD'",
  "SET LOCAL IntervalStyle = 'postgres'",
  'SET LOCAL extra_float_digits = 3',
  "SET LOCAL bytea_output = 'hex'",
];

// How content hashes are computed; recorded in manifests, so a drill knows whether it can compare. Each table's
// hash is the sum modulo 2^64 of a 64-bit hash of every row, by the method recorded with the table:
//   record: hash_record_extended(row, 0) (PostgreSQL 14+): hashes each value with its type's own hash function,
//           no text conversion (about twice as fast); only for tables whose column types hash by value (below);
//   text:   hashtextextended(row::text, 0): the row's text form under fixed settings; any type.
// PostgreSQL's hashes are stable across versions; like every PostgreSQL hash they may differ on a big-endian server.
export const HASH_ALGORITHM = 'pgops-row-hash-v2';
export type HashMethod = 'record' | 'text';

// Types whose hash depends on the value alone: not enums (their hash is the label's OID, which a restore changes),
// not json, xml or geometric types (no hash function), not OID types.
const RECORD_HASH_TYPES = ['int2', 'int4', 'int8', 'numeric', 'float4', 'float8', 'bool', 'text', 'varchar', 'bpchar', 'bytea', 'date', 'time', 'timestamp', 'timestamptz', 'interval', 'uuid', 'jsonb', 'inet', 'cidr', 'macaddr', 'char', 'name'];

// The tables (by relationKey) whose rows can be hashed with hash_record_extended: every column of a type
// above (directly, through a domain, or as an array of it) with a deterministic collation.
async function recordHashable(client: pg.Client): Promise<Set<string>> {
  const { rows } = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = a.atttypid
       JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
       JOIN pg_type r ON r.oid = CASE WHEN b.typcategory = 'A' THEN b.typelem ELSE b.oid END
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE c.relkind IN ('r', 'm')
      GROUP BY 1, 2
     HAVING bool_and(r.typnamespace = 'pg_catalog'::regnamespace AND r.typname = ANY($1) AND coalesce(co.collisdeterministic, true))`,
    [RECORD_HASH_TYPES],
  );
  return new Set(rows.map((r) => relationKey(r.schema, r.name)));
}

// A relation's key in maps of fingerprints and methods.
export function relationKey(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}

// Tables bigger than this many pages are hashed in block ranges, one per worker connection, when there are several.
const SPLIT_PAGES = 16_384;
const TWO_64 = 1n << 64n;

interface Relation {
  schema: string;
  name: string;
  kind: string;
  pages: number;
}

// The relations whose data a dump carries: tables, partitions, populated materialized views; not extension-owned ones.
export async function dataRelations(client: pg.Client): Promise<Relation[]> {
  const { rows } = await client.query<{ schema: string; name: string; kind: string; pages: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
            (pg_relation_size(c.oid) / current_setting('block_size')::int)::text AS pages
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND c.relpersistence <> 't'
        AND (c.relkind <> 'm' OR c.relispopulated)
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return rows.map((r) => ({ schema: r.schema, name: r.name, kind: r.kind, pages: Number(r.pages) }));
}

interface Part {
  table: number;
  where: string;
}

// Row count (and, in hash mode, an order-independent content hash) of every data relation, in the current
// snapshot of the connections (which must see the same data: one snapshot exported and imported, or a database
// nobody writes to). The hash is the sum modulo 2^64 of every row's hash (HASH_ALGORITHM): independent of row
// order and physical layout, sensitive to every value and to duplicate rows. With several connections, tables
// are spread over them and big tables are split into block ranges (TID range scans, PostgreSQL 14+).
export async function tableFingerprints(
  clients: pg.Client | pg.Client[],
  mode: FingerprintMode,
  opts: { splitPages?: number; /** the methods a backup recorded, by relationKey: a drill hashes the same way */ methods?: Map<string, HashMethod> } = {},
): Promise<TableFingerprint[]> {
  const splitPages = opts.splitPages ?? SPLIT_PAGES;
  if (mode === 'none') return [];
  const pool = Array.isArray(clients) ? clients : [clients];
  const relations = await dataRelations(pool[0]);
  const version = Number((await pool[0].query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
  const hashable = mode === 'hash' && version >= 140000 && !opts.methods ? await recordHashable(pool[0]) : new Set<string>();
  const methods = relations.map((rel): HashMethod => {
    const key = relationKey(rel.schema, rel.name);
    return opts.methods?.get(key) ?? (hashable.has(key) ? 'record' : 'text');
  });
  const parts: Part[] = [];
  relations.forEach((rel, table) => {
    if (rel.kind === 'p') return;
    const ranges = pool.length > 1 && version >= 140000 && rel.pages > splitPages ? pool.length * 2 : 1;
    const step = Math.ceil(rel.pages / ranges);
    for (let i = 0; i < ranges; i++) {
      const lower = i === 0 ? '' : `ctid >= '(${i * step},0)'::tid`;
      const upper = i === ranges - 1 ? '' : `ctid < '(${(i + 1) * step},0)'::tid`;
      parts.push({ table, where: [lower, upper].filter(Boolean).join(' AND ') });
    }
  });
  const totals = relations.map(() => ({ rows: 0, hash: 0n }));
  let next = 0;
  const work = async (client: pg.Client) => {
    while (next < parts.length) {
      const part = parts[next++];
      const rel = relations[part.table];
      const from = `FROM ONLY ${qualified(rel.schema, rel.name)} AS t${part.where ? ` WHERE ${part.where}` : ''}`;
      const rowHash = methods[part.table] === 'record' ? 'hash_record_extended(t, 0)' : 'hashtextextended(t::text, 0)';
      const sql = mode === 'count' ? `SELECT count(*) AS n, '0' AS h ${from}` : `SELECT count(*) AS n, coalesce(sum(${rowHash}), 0)::text AS h ${from}`;
      const { rows } = await client.query<{ n: string; h: string }>(sql);
      totals[part.table].rows += Number(rows[0].n);
      totals[part.table].hash += BigInt(rows[0].h);
    }
  };
  await Promise.all(pool.map(work));
  return relations.map((rel, i) => {
    const fp: TableFingerprint = { schema: rel.schema, name: rel.name, kind: rel.kind, rows: totals[i].rows };
    if (mode === 'hash' && rel.kind !== 'p') {
      fp.hash = (((totals[i].hash % TWO_64) + TWO_64) % TWO_64).toString();
      fp.method = methods[i];
    }
    return fp;
  });
}
