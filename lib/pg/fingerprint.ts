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

// How a table's content hash is computed; recorded in manifests, so a drill knows whether it can compare.
// hashtextextended is PostgreSQL's own 64-bit hash (the one hash partitioning uses): three times cheaper than md5
// here, stable across versions; like every PostgreSQL hash it may differ on a big-endian server.
export const HASH_ALGORITHM = 'sum64(hashtextextended(row::text, 0))';

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
export async function tableFingerprints(clients: pg.Client | pg.Client[], mode: FingerprintMode, opts: { splitPages?: number } = {}): Promise<TableFingerprint[]> {
  const splitPages = opts.splitPages ?? SPLIT_PAGES;
  if (mode === 'none') return [];
  const pool = Array.isArray(clients) ? clients : [clients];
  const relations = await dataRelations(pool[0]);
  const version = Number((await pool[0].query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
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
      const sql = mode === 'count' ? `SELECT count(*) AS n, '0' AS h ${from}` : `SELECT count(*) AS n, coalesce(sum(hashtextextended(t::text, 0)), 0)::text AS h ${from}`;
      const { rows } = await client.query<{ n: string; h: string }>(sql);
      totals[part.table].rows += Number(rows[0].n);
      totals[part.table].hash += BigInt(rows[0].h);
    }
  };
  await Promise.all(pool.map(work));
  return relations.map((rel, i) => {
    const fp: TableFingerprint = { schema: rel.schema, name: rel.name, kind: rel.kind, rows: totals[i].rows };
    if (mode === 'hash' && rel.kind !== 'p') fp.hash = (((totals[i].hash % TWO_64) + TWO_64) % TWO_64).toString();
    return fp;
  });
}
