import { describe, expect, it } from 'vitest';
import { madeUpManifest } from '../../../support/manifest.ts';
import type { Manifest, TableFingerprint } from '../../../../lib/repo/manifest.ts';
import type { ColumnFingerprint } from '../../../../lib/pg/column-hash.ts';
import { HASH_ALGORITHM } from '../../../../lib/pg/fingerprint.ts';
import { compareTables, tableDifference } from '../../../../lib/tasks/drill/compare.ts';

// How a drill words a table that differs from what the backup fingerprinted.

function manifest(over: { fingerprints: Manifest['fingerprints'] }): Manifest {
  return madeUpManifest(over);
}

const col = (name: string, hash: string, type = 'integer'): ColumnFingerprint => ({ name, type, method: 'value', hash });
const table = (over: Partial<TableFingerprint> = {}): TableFingerprint => ({
  schema: 'odd',
  name: 't',
  kind: 'r',
  rows: 20,
  hash: '100',
  columns: [col('row', '1'), col('t', '2'), col('x', '3', 'text')],
  ...over,
});

describe('tableDifference', () => {
  it('finds nothing when counts and every hash match', () => {
    expect(tableDifference(table(), table(), 'hash')).toBeUndefined();
  });

  it('names the columns whose values changed', () => {
    expect(tableDifference(table(), table({ hash: '101', columns: [col('row', '1'), col('t', '9'), col('x', '3', 'text')] }), 'hash')).toBe(
      'content differs with the same row count (20): values changed in column t',
    );
    expect(tableDifference(table(), table({ hash: '101', columns: [col('row', '8'), col('t', '2'), col('x', '9', 'text')] }), 'hash')).toBe(
      'content differs with the same row count (20): values changed in columns row, x',
    );
  });

  it('quotes a column name only where SQL would need it', () => {
    const want = table({ columns: [col('Amount €', '1')] });
    expect(tableDifference(want, table({ hash: '7', columns: [col('Amount €', '2')] }), 'hash')).toBe('content differs with the same row count (20): values changed in column "Amount €"');
  });

  it('says when every column holds its values but rows were recombined', () => {
    expect(tableDifference(table(), table({ hash: '555' }), 'hash')).toBe(
      'content differs with the same row count (20): every column holds the values it held, but combined into other rows',
    );
  });

  it('names a missing column, one not in the backup, and a changed type, before any hash', () => {
    expect(tableDifference(table(), table({ hash: '1', columns: [col('row', '1'), col('x', '3', 'text')] }), 'hash')).toBe('column t missing');
    expect(tableDifference(table(), table({ columns: [...table().columns!, col('y', '0')] }), 'hash')).toBe('column y not in the backup');
    expect(tableDifference(table(), table({ hash: '1', columns: [col('row', '1'), col('t', '2', 'bigint'), col('x', '3', 'text')] }), 'hash')).toBe('type changed: t (integer -> bigint)');
    expect(tableDifference(table(), table({ rows: 19, columns: [col('a', '0'), col('b', '0'), col('x', '3', 'varchar')] }), 'hash')).toBe(
      'row count differs: expected 20, found 19; columns row, t missing; columns a, b not in the backup; type changed: x (text -> varchar)',
    );
  });

  it('gives the row counts when rows are missing', () => {
    expect(tableDifference(table(), table({ rows: 19, hash: '5', columns: [col('row', '0'), col('t', '0'), col('x', '0', 'text')] }), 'hash')).toBe('row count differs: expected 20, found 19');
  });

  it('compares row counts only in count mode', () => {
    const counted = { schema: 'odd', name: 't', kind: 'r', rows: 20 };
    expect(tableDifference(table(), table({ hash: '999', columns: [col('t', '0')] }), 'count')).toBeUndefined();
    expect(tableDifference(counted, { ...counted, rows: 21 }, 'count')).toBe('row count differs: expected 20, found 21');
  });
});

describe('compareTables', () => {
  const hashed = (tables: TableFingerprint[]) => manifest({ fingerprints: { mode: 'hash', algorithm: HASH_ALGORITHM, tables } });
  const mv = (over: Partial<TableFingerprint> = {}) => table({ schema: 'reports', name: 'order_ids', kind: 'm', rows: 5, columns: [col('id', '4')], ...over });

  it('passes when every table matches', () => {
    expect(compareTables(hashed([table()]), [table()])).toEqual([{ name: 'tables', status: 'pass', detail: '1 of 1 tables match (row count and content hash of every column)' }]);
  });

  it('makes a materialized view that differs a note, not a failure', () => {
    const checks = compareTables(hashed([table(), mv()]), [table(), mv({ rows: 8, hash: '9', columns: [col('id', '7')] })]);
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['tables', 'pass'],
      ['materialized view reports.order_ids', 'note'],
    ]);
    expect(checks[0].detail).toBe('1 of 2 tables match (row count and content hash of every column); 1 materialized view refreshed by the restore (notes)');
    expect(checks[1].detail).toBe(
      "row count differs: expected 5, found 8: a restore refreshes every materialized view, so one that was stale when backed up comes back with its query's current result (a bare pg_restore does the same); not a loss of data",
    );
  });

  it('fails a materialized view missing from the restored database', () => {
    const checks = compareTables(hashed([table(), mv()]), [table()]);
    expect(checks.filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.detail}`)).toEqual([
      'tables: 1 of 2 tables match (row count and content hash of every column)',
      'materialized view reports.order_ids: missing from the restored database',
    ]);
  });

  it('fails a table that differs, with the counts and hashes expected and found', () => {
    const got = table({ hash: '101', columns: [col('row', '1'), col('t', '9'), col('x', '3', 'text')] });
    expect(compareTables(hashed([table()]), [got])).toEqual([
      { name: 'tables', status: 'fail', detail: '0 of 1 tables match (row count and content hash of every column)' },
      { name: 'table odd.t', status: 'fail', detail: 'content differs with the same row count (20): values changed in column t', expected: { rows: 20, hash: '100' }, found: { rows: 20, hash: '101' } },
    ]);
  });

  it('fails a table missing from the restore and one the backup did not have', () => {
    const checks = compareTables(hashed([table()]), [table({ name: 'other' })]);
    expect(checks.map((c) => `${c.status} ${c.name}: ${c.detail}`)).toEqual([
      'fail tables: 0 of 1 tables match (row count and content hash of every column)',
      'fail table odd.t: missing from the restored database',
      'fail table odd.other: in the restored database but not in the backup',
    ]);
  });

  it('compares row counts only for a count backup, and for hashes of an older algorithm', () => {
    const counted = { schema: 'odd', name: 't', kind: 'r', rows: 20 };
    expect(compareTables(manifest({ fingerprints: { mode: 'count', tables: [counted] } }), [table({ hash: '1' })])).toEqual([
      { name: 'tables', status: 'pass', detail: '1 of 1 tables match (row count only: back up with --fingerprint hash to prove every value)' },
    ]);
    const older = manifest({ fingerprints: { mode: 'hash', algorithm: 'pgops-row-hash-v2', tables: [{ ...counted, hash: '5', method: 'record' }] } });
    expect(compareTables(older, [table({ hash: '6' })])[0]).toMatchObject({ status: 'pass', detail: expect.stringContaining('row count only') });
    expect(compareTables(older, [table({ rows: 19 })]).map((c) => `${c.name}: ${c.detail}`)).toEqual([
      'tables: 0 of 1 tables match (row count only: back up with --fingerprint hash to prove every value)',
      'table odd.t: row count differs: expected 20, found 19',
    ]);
  });

  it('notes a count backup\'s materialized view whose row count changed', () => {
    const counted = (rows: number) => ({ schema: 'reports', name: 'order_ids', kind: 'm', rows });
    const checks = compareTables(manifest({ fingerprints: { mode: 'count', tables: [counted(5)] } }), [counted(8)]);
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['tables', 'pass'],
      ['materialized view reports.order_ids', 'note'],
    ]);
  });

  it('skips a backup taken without fingerprints', () => {
    expect(compareTables(manifest({ fingerprints: { mode: 'none', tables: [] } }), [table()])).toEqual([{ name: 'tables', status: 'skip', detail: 'the backup was taken with --fingerprint none' }]);
  });
});
