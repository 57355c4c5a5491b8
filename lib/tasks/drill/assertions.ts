import fs from 'node:fs';
import type pg from 'pg';
import YAML from 'yaml';
import { messageOf, usageError } from '../../errors.ts';
import type { DrillCheck } from '../../repo/drill-reports.ts';

// One user assertion: SQL whose first column of the first row must equal `expect`, or whose row count must be `rows`.
//
//   - name: the newest order is less than a day older than the backup
//     sql: SELECT max(created_at) > now() - interval '1 day' FROM orders
//     expect: true
//   - name: no orphaned order lines
//     sql: SELECT 1 FROM order_lines l LEFT JOIN orders o ON o.id = l.order_id WHERE o.id IS NULL
//     rows: 0
export interface Assertion {
  name: string;
  sql: string;
  expect?: string | number | boolean | null;
  rows?: number;
}

// Reads and checks assertion files, so that a typo fails before the restore, not after.
export function loadAssertions(files: string[]): Assertion[] {
  const out: Assertion[] = [];
  for (const file of files) {
    let doc: unknown;
    try {
      doc = YAML.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw usageError(`cannot read assertion file ${file}: ${messageOf(err).split('\n')[0]}`, 'a YAML list of {name, sql, expect} or {name, sql, rows}');
    }
    if (!Array.isArray(doc)) throw usageError(`assertion file ${file} is not a YAML list`, 'write a list: - name: ...\\n  sql: ...\\n  expect: ...');
    doc.forEach((a: Partial<Assertion>, i) => {
      const where = `${file}, assertion ${i + 1}`;
      if (!a || typeof a.name !== 'string' || typeof a.sql !== 'string') throw usageError(`${where} needs a name and an sql`);
      if (!('expect' in a) && a.rows === undefined) throw usageError(`${where} ("${a.name}") needs expect: or rows:`);
      if (a.rows !== undefined && (!Number.isInteger(a.rows) || a.rows < 0)) throw usageError(`${where} ("${a.name}"): rows must be a whole number`);
      out.push({ name: a.name, sql: a.sql, expect: a.expect, rows: a.rows });
    });
  }
  return out;
}

const asText = (v: unknown) => (v === null || v === undefined ? 'null' : v instanceof Date ? v.toISOString() : String(v));

// Runs each assertion in a read-only transaction of its own, so that one failure does not hide the others.
export async function checkAssertions(client: pg.Client, assertions: Assertion[], statementTimeoutMs: number): Promise<DrillCheck[]> {
  const checks: DrillCheck[] = [];
  for (const a of assertions) {
    const name = `assertion ${a.name}`;
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${Math.round(statementTimeoutMs)}`);
      const res = await client.query({ text: a.sql, rowMode: 'array' });
      await client.query('ROLLBACK');
      if (a.rows !== undefined) {
        checks.push(res.rowCount === a.rows ? { name, status: 'pass', detail: `${a.rows} rows` } : { name, status: 'fail', detail: `expected ${a.rows} rows, found ${res.rowCount}`, expected: a.rows, found: res.rowCount });
      } else {
        const value = res.rows[0]?.[0];
        const ok = res.rows.length > 0 && asText(value) === asText(a.expect);
        checks.push(ok ? { name, status: 'pass', detail: `= ${asText(value)}` } : { name, status: 'fail', detail: `expected ${asText(a.expect)}, found ${res.rows.length ? asText(value) : 'no rows'}`, expected: a.expect, found: res.rows.length ? asText(value) : null });
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      checks.push({ name, status: 'fail', detail: `the query failed: ${messageOf(err)}` });
    }
  }
  return checks;
}
