import type pg from 'pg';
import { ExitCode, PgopsError } from '../../errors.ts';
import { displayName } from '../../pg/display-name.ts';
import type { Range } from './periods.ts';

// The key types whose ranges follow a calendar.
export type KeyType = 'date' | 'timestamp' | 'timestamptz';
const KEY_TYPES: Record<number, KeyType> = { 1082: 'date', 1114: 'timestamp', 1184: 'timestamptz' };

// One partition with its bounds as wall-clock milliseconds of the configured zone.
export interface Partition extends Range {
  oid: number;
  schema: string;
  name: string;
  /** the bound as PostgreSQL prints it: FOR VALUES FROM (...) TO (...) */
  bound: string;
  /** an earlier DETACH ... CONCURRENTLY stopped half-way; DETACH ... FINALIZE completes it */
  detachPending: boolean;
  /** itself partitioned */
  partitioned: boolean;
}

export interface PartitionedTable {
  oid: number;
  schema: string;
  name: string;
  owner: string;
  column: string;
  keyType: KeyType;
  partitions: Partition[];
  defaultPartition?: { oid: number; schema: string; name: string };
}

// A problem with one table: reported for that table, the others go on.
export class TableProblem extends PgopsError {}

// Reads a range-partitioned table with one date, timestamp or timestamptz key column, and its partitions.
export async function readTable(client: pg.Client, schema: string, name: string, zone: string): Promise<PartitionedTable> {
  const { rows } = await client.query<{ oid: number; owner: string; relkind: string; strat: string | null; natts: number | null; attname: string | null; typid: number | null; type: string | null; defid: number }>(
    `SELECT c.oid::int AS oid, pg_get_userbyid(c.relowner)::text AS owner, c.relkind::text AS relkind, pt.partstrat::text AS strat, pt.partnatts::int AS natts,
            a.attname::text AS attname, a.atttypid::int AS typid, format_type(a.atttypid, a.atttypmod) AS type, pt.partdefid::int AS defid
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_partitioned_table pt ON pt.partrelid = c.oid
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = pt.partattrs[0] AND pt.partattrs[0] <> 0
      WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, name],
  );
  const t = rows[0];
  const what = displayName(schema, name);
  if (!t) throw new TableProblem(`table ${what} does not exist`, { code: ExitCode.UNKNOWN, hint: 'names are exact (case and spaces count); write SCHEMA.TABLE, double-quoting parts as in SQL' });
  if (t.relkind !== 'p') throw new TableProblem(`${what} is not a partitioned table`, { code: ExitCode.UNKNOWN, hint: 'name the parent table of the partitions' });
  if (t.strat !== 'r') throw new TableProblem(`${what} is partitioned by ${t.strat === 'l' ? 'list' : 'hash'}, not by range`, { code: ExitCode.UNKNOWN, hint: 'only range partitioning by time is managed' });
  if (t.natts !== 1 || !t.attname || t.typid === null) {
    throw new TableProblem(`${what} is partitioned by an expression or by several columns`, { code: ExitCode.UNKNOWN, hint: 'only a single date, timestamp or timestamptz key column is managed' });
  }
  const keyType = KEY_TYPES[t.typid];
  if (!keyType) throw new TableProblem(`${what} is partitioned by ${t.attname} of type ${t.type}`, { code: ExitCode.UNKNOWN, hint: 'only date, timestamp and timestamptz keys are managed' });
  const parts = await client.query<{ oid: number; schema: string; name: string; relkind: string; bound: string; pending: boolean }>(
    `SELECT c.oid::int AS oid, n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS relkind,
            pg_get_expr(c.relpartbound, c.oid) AS bound, i.inhdetachpending AS pending
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhparent = $1 ORDER BY c.oid`,
    [t.oid],
  );
  const table: PartitionedTable = { oid: t.oid, schema, name, owner: t.owner, column: t.attname, keyType, partitions: [] };
  const ranged: { p: (typeof parts.rows)[number]; from: string; to: string }[] = [];
  for (const p of parts.rows) {
    if (p.bound === 'DEFAULT') {
      table.defaultPartition = { oid: p.oid, schema: p.schema, name: p.name };
      continue;
    }
    const b = parseRangeBound(p.bound);
    if (!b) throw new TableProblem(`cannot read the bound of partition ${displayName(p.schema, p.name)}: ${p.bound}`, { code: ExitCode.FAILED });
    ranged.push({ p, ...b });
  }
  const ms = await wallClockMs(client, ranged.flatMap((r) => [r.from, r.to]), keyType, zone);
  ranged.forEach((r, i) => {
    table.partitions.push({ oid: r.p.oid, schema: r.p.schema, name: r.p.name, bound: r.p.bound, detachPending: r.p.pending, partitioned: r.p.relkind === 'p', from: ms[2 * i], to: ms[2 * i + 1] });
  });
  return table;
}

// FOR VALUES FROM ('2027-01-01 00:00:00+00') TO (MAXVALUE) -> the two bound texts; undefined for other shapes.
export function parseRangeBound(bound: string): { from: string; to: string } | undefined {
  const value = String.raw`(MINVALUE|MAXVALUE|'(?:[^']|'')*')`;
  const m = new RegExp(String.raw`^FOR VALUES FROM \(${value}\) TO \(${value}\)$`).exec(bound);
  if (!m) return undefined;
  const unquote = (v: string) => (v.startsWith("'") ? v.slice(1, -1).replace(/''/g, "'") : v);
  return { from: unquote(m[1]), to: unquote(m[2]) };
}

// Bound texts as wall-clock milliseconds of `zone` (timestamptz), or as written (date, timestamp); the server parses.
export async function wallClockMs(client: pg.Client, values: string[], keyType: KeyType, zone: string): Promise<number[]> {
  if (!values.length) return [];
  const expr = { timestamptz: 'v::timestamptz AT TIME ZONE $2', timestamp: 'v::timestamp', date: 'v::date::timestamp' }[keyType];
  const { rows } = await client.query<{ ms: string | null }>(
    `SELECT CASE v WHEN 'MINVALUE' THEN '-Infinity' WHEN 'MAXVALUE' THEN 'Infinity'
                   ELSE (extract(epoch FROM ${expr}) * 1000)::text END AS ms
       FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`,
    keyType === 'timestamptz' ? [values, zone] : [values],
  );
  return rows.map((r) => Number(r.ms));
}

// The SQL expression of a wall-clock time as a value of the key's type: $n::date, $n::timestamp, or the instant
// that wall-clock time is in the zone ($zone is the parameter holding it).
export function boundExpr(keyType: KeyType, param: string, zoneParam: string): string {
  return { date: `${param}::date`, timestamp: `${param}::timestamp`, timestamptz: `(${param}::timestamp AT TIME ZONE ${zoneParam})` }[keyType];
}
