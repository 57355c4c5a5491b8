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

// The relations whose data a dump carries: tables, partitions, populated materialized views; not extension-owned ones.
export async function dataRelations(client: pg.Client): Promise<{ schema: string; name: string; kind: string }[]> {
  const { rows } = await client.query<{ schema: string; name: string; kind: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND c.relpersistence <> 't'
        AND (c.relkind <> 'm' OR c.relispopulated)
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return rows;
}

// Row count (and, in hash mode, an order-independent content hash) of every data relation, in the
// connection's current snapshot. The hash is the sum modulo 2^64 of the first 64 bits of md5(row text):
// independent of row order and physical layout, sensitive to every value and to duplicate rows.
export async function tableFingerprints(client: pg.Client, mode: FingerprintMode): Promise<TableFingerprint[]> {
  if (mode === 'none') return [];
  const out: TableFingerprint[] = [];
  for (const rel of await dataRelations(client)) {
    if (rel.kind === 'p') {
      out.push({ ...rel, rows: 0 });
      continue;
    }
    const name = qualified(rel.schema, rel.name);
    if (mode === 'count') {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ONLY ${name}`);
      out.push({ ...rel, rows: Number(rows[0].n) });
    } else {
      const { rows } = await client.query<{ n: string; h: string }>(
        `SELECT count(*) AS n,
                ((coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint), 0) % 18446744073709551616
                  + 18446744073709551616) % 18446744073709551616)::text AS h
           FROM ONLY ${name} AS t`,
      );
      out.push({ ...rel, rows: Number(rows[0].n), hash: rows[0].h });
    }
  }
  return out;
}
