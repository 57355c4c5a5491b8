import { createHash } from 'node:crypto';
import type pg from 'pg';
import { quoteIdent } from './ident.ts';

// How one column's values are hashed (HASH_ALGORITHM in fingerprint.ts):
//   value: by the type's own extended hash function, on the value itself: exact for these types (equal values are
//          the same bytes), no text conversion, about twice as fast as text;
//   text:  by hashtextextended of the value's text form (the type's output function, under STABLE_TEXT_SETTINGS):
//          any type, and exact where equality is looser than identity (numeric 1.0 = 1.00, interval 1 day = 24 hours).
export type ColumnHashMethod = 'value' | 'text';

// What a column contributes to a table's fingerprint; recorded in the manifest, in name order.
export interface ColumnFingerprint {
  name: string;
  /** format_type() under STABLE_TEXT_SETTINGS: schema-qualified where not in pg_catalog */
  type: string;
  method: ColumnHashMethod;
  /** sum modulo 2^64 of this column's value hash over all rows */
  hash: string;
}

// A column as the catalogue describes it, with what both hash methods need.
export interface ColumnInfo {
  name: string;
  type: string;
  /** the SQL expression hashing the value by value for this column's type, with ? for the column; undefined: text only */
  valueHash?: string;
  /** the call of the type's output function (schema-qualified), with ? for the column */
  output: string;
}

const ROW = 'pg_catalog.hash_record_extended(ROW(?), $seed)';
const fn = (name: string) => `pg_catalog.${name}(?, $seed)`;

// Built-in types hashed by value, by the base type's name: each an exact hash of the value (its bytes, or the
// integer behind a date or timestamp). bool is hashed as 0 or 1, timestamptz as the same instant in UTC (the same
// 64-bit value); date and bytea, without an SQL-callable hash of their own, as a one-column record.
// Left to text on purpose: numeric and interval (their equality is looser than identity), float (-0 = 0),
// enums (hashed by OID, which a restore changes), json, xml, geometric and OID-alias types (no hash function).
const VALUE_HASHES: Record<string, string> = {
  int2: fn('hashint2extended'), int4: fn('hashint4extended'), int8: fn('hashint8extended'), oid: fn('hashoidextended'),
  text: fn('hashtextextended'), varchar: fn('hashtextextended'), bpchar: fn('hashbpcharextended'), name: fn('hashnameextended'),
  char: fn('hashcharextended'), uuid: fn('uuid_hash_extended'), jsonb: fn('jsonb_hash_extended'), inet: fn('hashinetextended'),
  cidr: fn('hashinetextended'), macaddr: fn('hashmacaddrextended'), macaddr8: fn('hashmacaddr8extended'), time: fn('time_hash_extended'),
  timetz: fn('timetz_hash_extended'), timestamp: fn('timestamp_hash_extended'), pg_lsn: fn('pg_lsn_hash_extended'),
  bool: 'pg_catalog.hashint4extended(CAST(? AS pg_catalog.int4), $seed)',
  timestamptz: "pg_catalog.timestamp_hash_extended(? AT TIME ZONE 'UTC', $seed)",
  date: ROW, bytea: ROW,
};

// The columns of each relation (by OID), in name order, with the base type of domains resolved: a domain over a
// value-hashed type hashes like its base, an array of such a type with hash_array_extended. Runs under
// STABLE_TEXT_SETTINGS (search_path pg_catalog): no user object can stand in for the catalogue's.
export async function relationColumns(client: pg.Client, oids: number[]): Promise<Map<number, ColumnInfo[]>> {
  const { rows } = await client.query<{ rel: string; name: string; type: string; base: string | null; elem: string | null; deterministic: boolean; output: string; output_arg: string | null }>(
    `WITH RECURSIVE cols AS (
       SELECT a.attrelid, a.attname, a.atttypid, a.attcollation, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
     ), chain AS (
       SELECT t.oid AS typ, t.oid AS cur, 0 AS depth FROM pg_catalog.pg_type t WHERE t.oid IN (SELECT atttypid FROM cols)
       UNION ALL
       SELECT c.typ, t.typbasetype, c.depth + 1 FROM chain c JOIN pg_catalog.pg_type t ON t.oid = c.cur WHERE t.typtype = 'd'
     ), base AS (
       SELECT DISTINCT ON (typ) typ, cur FROM chain ORDER BY typ, depth DESC
     )
     SELECT c.attrelid::int8::text AS rel, c.attname::text AS name, c.type,
            CASE WHEN bt.typnamespace = 'pg_catalog'::regnamespace THEN bt.typname::text END AS base,
            CASE WHEN et.typarray = bt.oid AND et.typnamespace = 'pg_catalog'::regnamespace AND t.typtype <> 'd' THEN et.typname::text END AS elem,
            coalesce(co.collisdeterministic, true) AS deterministic,
            quote_ident(pn.nspname) || '.' || quote_ident(p.proname) AS output,
            CASE WHEN at.oid <> c.atttypid AND at.typtype <> 'p' THEN quote_ident(an.nspname) || '.' || quote_ident(at.typname) END AS output_arg
       FROM cols c
       JOIN pg_catalog.pg_type t ON t.oid = c.atttypid
       JOIN base b ON b.typ = c.atttypid
       JOIN pg_catalog.pg_type bt ON bt.oid = b.cur
       LEFT JOIN pg_catalog.pg_type et ON et.oid = bt.typelem
       JOIN pg_catalog.pg_proc p ON p.oid = t.typoutput
       JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
       JOIN pg_catalog.pg_type at ON at.oid = p.proargtypes[0]
       JOIN pg_catalog.pg_namespace an ON an.oid = at.typnamespace
       LEFT JOIN pg_catalog.pg_collation co ON co.oid = c.attcollation
      ORDER BY c.attrelid, c.attname COLLATE "C"`,
    [oids],
  );
  const out = new Map<number, ColumnInfo[]>(oids.map((oid) => [oid, []]));
  for (const r of rows) {
    // a non-deterministic collation hashes the collation's sort key (ICU's version decides it): text is exact
    const valueHash = !r.deterministic ? undefined : r.elem && VALUE_HASHES[r.elem] ? 'pg_catalog.hash_array_extended(?, $seed)' : r.base ? VALUE_HASHES[r.base] : undefined;
    // an output function may take a binary-compatible type (refcursor's is textout): the cast only relabels
    const output = r.output_arg ? `${r.output}(CAST(? AS ${r.output_arg}))` : `${r.output}(?)`;
    out.get(Number(r.rel))!.push({ name: r.name, type: r.type, valueHash, output });
  }
  return out;
}

// The method a backup uses for a column: by value where its type allows.
export function defaultMethod(col: ColumnInfo): ColumnHashMethod {
  return col.valueHash ? 'value' : 'text';
}

// A column's hash seed, from its name alone: a value hashes differently in each column (values swapped between
// columns change the row's hash), and a column's hash does not depend on which other columns the table has.
export function columnSeed(name: string): bigint {
  return BigInt('0x' + createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 12));
}

// Stands for NULL in a row's hash (the hash functions return NULL for NULL).
const NULL_HASH = '6238072747940578789';

// The expression hashing one column of the table aliased x. Every name is qualified or quoted, so no table, column,
// function, operator or type a user creates can take the place of what is meant.
export function columnHashExpression(col: ColumnInfo, method: ColumnHashMethod): string {
  const ref = `x.${quoteIdent(col.name)}`;
  const seed = columnSeed(col.name).toString();
  const template = method === 'value' && col.valueHash ? col.valueHash : `pg_catalog.hashtextextended(pg_catalog.textin(${col.output}), $seed)`;
  // functions as replacements: a column name may hold $& or ?, which a string replacement would expand
  return `coalesce(${template.replace('$seed', () => seed).replace('?', () => ref)}, ${NULL_HASH})`;
}

// One query over `from` (FROM ONLY <table> AS x, with a block range's WHERE): its row count, the sum of its row
// hashes (each row's hash is the XOR of its column hashes) and each column's sum. The subquery computes every
// column's hash once per row (OFFSET 0 keeps the planner from folding it into the aggregates, which would compute
// each twice).
export function hashQuery(from: string, cols: { col: ColumnInfo; method: ColumnHashMethod }[]): string {
  if (cols.length === 0) return `SELECT pg_catalog.count(*) AS n, pg_catalog.sum(${NULL_HASH}::pg_catalog.int8) AS h ${from}`;
  const inner = cols.map((c, i) => `${columnHashExpression(c.col, c.method)} AS c${i}`).join(', ');
  const row = cols.map((_, i) => `q.c${i}`).join(' OPERATOR(pg_catalog.#) ');
  const sums = cols.map((_, i) => `pg_catalog.sum(q.c${i}) AS c${i}`).join(', ');
  return `SELECT pg_catalog.count(*) AS n, pg_catalog.sum(${row}) AS h, ${sums} FROM (SELECT ${inner} ${from} OFFSET 0) AS q`;
}
