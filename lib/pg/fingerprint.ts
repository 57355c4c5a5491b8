import type pg from 'pg';
import type { TableFingerprint } from '../repo/manifest.ts';
import { type ColumnHashMethod, type ColumnInfo, defaultMethod, hashQuery, relationColumns } from './column-hash.ts';
import { qualified } from './ident.ts';

export type FingerprintMode = 'hash' | 'count' | 'none';

// Session settings under which a value's text form is the same on the backed-up and the restored server, and
// under which no user object can stand in for a catalogue one: search_path holds only pg_catalog (and pg_temp last,
// where functions and operators are never looked up), so even unqualified names in pgops's queries mean PostgreSQL's.
export const STABLE_TEXT_SETTINGS = [
  'SET LOCAL search_path = pg_catalog, pg_temp',
  "SET LOCAL TimeZone = 'UTC'",
  "SET LOCAL DateStyle = 'ISO, YMD'",
  "SET LOCAL IntervalStyle = 'postgres'",
  'SET LOCAL extra_float_digits = 3',
  "SET LOCAL bytea_output = 'hex'",
  "SET LOCAL lc_monetary = 'C'",
];

// How content hashes are computed; recorded in manifests, so a drill knows whether it can compare. Every column is
// hashed on its own (lib/pg/column-hash.ts: by value where the type allows, else by its text form), seeded by the
// column's name; a row's hash is the XOR of its columns' hashes, a table's hash the sum modulo 2^64 of its rows'
// hashes, and each column's hash the sum modulo 2^64 of its values' hashes. Columns are matched by name, never by
// position (pg_dump may change the column order of an inheritance child), and a drill can say which columns differ.
// PostgreSQL's hashes are stable across versions; like every PostgreSQL hash they may differ on a big-endian server.
// An older algorithm's hashes (pgops-row-hash-v2) are not compared: their row counts still are.
export const HASH_ALGORITHM = 'pgops-column-hash-v3';

// A relation's key in maps of fingerprints and methods.
export function relationKey(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}

// Tables bigger than this many pages are hashed in block ranges, one per worker connection, when there are several.
const SPLIT_PAGES = 16_384;
const TWO_64 = 1n << 64n;

interface Relation {
  oid: number;
  schema: string;
  name: string;
  kind: string;
  pages: number;
}

// The relations whose data a dump carries: tables, partitions, populated materialized views; not extension-owned ones.
export async function dataRelations(client: pg.Client): Promise<Relation[]> {
  const { rows } = await client.query<{ oid: string; schema: string; name: string; kind: string; pages: string }>(
    `SELECT c.oid::int8::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
            (pg_relation_size(c.oid) / current_setting('block_size')::int)::text AS pages
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND c.relpersistence <> 't'
        AND (c.relkind <> 'm' OR c.relispopulated)
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 2, 3`,
  );
  return rows.map((r) => ({ oid: Number(r.oid), schema: r.schema, name: r.name, kind: r.kind, pages: Number(r.pages) }));
}

interface Part {
  table: number;
  where: string;
}

// Row count (and, in hash mode, order-independent content hashes of the table and of each column) of every data
// relation, in the current snapshot of the connections (which must see the same data: one snapshot exported and
// imported, or a database nobody writes to), under STABLE_TEXT_SETTINGS. Independent of row order and physical
// layout, sensitive to every value and to duplicate rows. With several connections, tables are spread over them and
// big tables are split into block ranges (TID range scans, PostgreSQL 14+).
export async function tableFingerprints(
  clients: pg.Client | pg.Client[],
  mode: FingerprintMode,
  opts: { splitPages?: number; /** the column methods a backup recorded, by relationKey: a drill hashes the same way */ methods?: Map<string, Map<string, ColumnHashMethod>> } = {},
): Promise<TableFingerprint[]> {
  const splitPages = opts.splitPages ?? SPLIT_PAGES;
  if (mode === 'none') return [];
  const pool = Array.isArray(clients) ? clients : [clients];
  const relations = await dataRelations(pool[0]);
  const version = Number((await pool[0].query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
  const columns = mode === 'hash' ? await relationColumns(pool[0], relations.filter((r) => r.kind !== 'p').map((r) => r.oid)) : new Map<number, ColumnInfo[]>();
  const plans = relations.map((rel) => {
    const recorded = opts.methods?.get(relationKey(rel.schema, rel.name));
    return (columns.get(rel.oid) ?? []).map((col) => ({ col, method: recorded?.get(col.name) ?? defaultMethod(col) }));
  });
  const parts: Part[] = [];
  relations.forEach((rel, table) => {
    if (rel.kind === 'p') return;
    const ranges = pool.length > 1 && version >= 140000 && rel.pages > splitPages ? pool.length * 2 : 1;
    const step = Math.ceil(rel.pages / ranges);
    for (let i = 0; i < ranges; i++) {
      const lower = i === 0 ? '' : `x.ctid OPERATOR(pg_catalog.>=) '(${i * step},0)'::pg_catalog.tid`;
      const upper = i === ranges - 1 ? '' : `x.ctid OPERATOR(pg_catalog.<) '(${(i + 1) * step},0)'::pg_catalog.tid`;
      parts.push({ table, where: [lower, upper].filter(Boolean).join(' AND ') });
    }
  });
  const totals = relations.map((_, i) => ({ rows: 0, hash: 0n, columns: plans[i].map(() => 0n) }));
  let next = 0;
  const work = async (client: pg.Client) => {
    while (next < parts.length) {
      const part = parts[next++];
      const rel = relations[part.table];
      const from = `FROM ONLY ${qualified(rel.schema, rel.name)} AS x${part.where ? ` WHERE ${part.where}` : ''}`;
      const sql = mode === 'count' ? `SELECT pg_catalog.count(*) AS n ${from}` : hashQuery(from, plans[part.table]);
      const { rows } = await client.query<Record<string, string | null>>(sql);
      const total = totals[part.table];
      total.rows += Number(rows[0].n);
      total.hash += BigInt(rows[0].h ?? 0);
      total.columns.forEach((_, c) => (total.columns[c] += BigInt(rows[0][`c${c}`] ?? 0)));
    }
  };
  await Promise.all(pool.map(work));
  return relations.map((rel, i) => {
    const fp: TableFingerprint = { schema: rel.schema, name: rel.name, kind: rel.kind, rows: totals[i].rows };
    if (mode === 'hash' && rel.kind !== 'p') {
      fp.hash = modulo64(totals[i].hash);
      fp.columns = plans[i].map((p, c) => ({ name: p.col.name, type: p.col.type, method: p.method, hash: modulo64(totals[i].columns[c]) }));
    }
    return fp;
  });
}

const modulo64 = (n: bigint) => (((n % TWO_64) + TWO_64) % TWO_64).toString();
