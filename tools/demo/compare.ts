import pg from 'pg';
import type { TableFingerprint } from '../../lib/repo/manifest.ts';
import { STABLE_TEXT_SETTINGS, tableFingerprints } from '../../lib/pg/fingerprint.ts';
import { green, red } from './say.ts';

export interface DatabaseFingerprint {
  tables: TableFingerprint[];
  /** schema.name -> last_value of every sequence ('' when never called) */
  sequences: Map<string, string>;
}

// Row counts and content hashes of every table, and every sequence's value, in one snapshot of a database.
export async function fingerprintDatabase(url: string): Promise<DatabaseFingerprint> {
  const client = new pg.Client({ connectionString: url, application_name: 'pgops demo' });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const s of STABLE_TEXT_SETTINGS) await client.query(s);
    const tables = await tableFingerprints(client, 'hash');
    const { rows } = await client.query<{ name: string; value: string | null }>(
      `SELECT format('%I.%I', schemaname, sequencename) AS name, last_value::text AS value FROM pg_sequences ORDER BY 1`,
    );
    await client.query('COMMIT');
    return { tables, sequences: new Map(rows.map((r) => [r.name, r.value ?? ''])) };
  } finally {
    await client.end().catch(() => {});
  }
}

export interface Comparison {
  /** the table to print, one line per table and sequence */
  lines: string[];
  matched: number;
  total: number;
}

const name = (t: TableFingerprint) => `${t.schema}.${t.name}${t.kind === 'm' ? ' (materialized view)' : ''}`;
const pair = (a: string | undefined, b: string | undefined) => `${a ?? 'missing'} ${a === b ? '=' : '≠'} ${b ?? 'missing'}`;

// Compares source and restored table by table (rows and content hash) and sequence by sequence.
export function compare(source: DatabaseFingerprint, restored: DatabaseFingerprint): Comparison {
  const rows: { cells: [string, string, string]; ok: boolean }[] = [];
  const keyOf = (t: TableFingerprint) => `${t.schema}.${t.name}`;
  const after = new Map(restored.tables.map((t) => [keyOf(t), t]));
  const before = new Map(source.tables.map((t) => [keyOf(t), t]));
  for (const t of [...source.tables, ...restored.tables.filter((r) => !before.has(keyOf(r)))]) {
    const a = before.get(keyOf(t));
    const b = after.get(keyOf(t));
    const ok = a !== undefined && b !== undefined && a.rows === b.rows && a.hash === b.hash;
    rows.push({ cells: [name(t), pair(a && String(a.rows), b && String(b.rows)), pair(a?.hash, b?.hash)], ok });
  }
  for (const seq of new Set([...source.sequences.keys(), ...restored.sequences.keys()])) {
    const a = source.sequences.get(seq);
    const b = restored.sequences.get(seq);
    rows.push({ cells: [`${seq} (sequence)`, '', `last value ${pair(a, b)}`], ok: a !== undefined && a === b });
  }
  const header = ['TABLE', 'ROWS (source = restored)', 'CONTENT HASH (source = restored)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return {
    lines: [line(header) + '  OK', ...rows.map((r) => `${line(r.cells)}  ${r.ok ? green('✓') : red('✗')}`)],
    matched: rows.filter((r) => r.ok).length,
    total: rows.length,
  };
}
