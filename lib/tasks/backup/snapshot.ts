import type pg from 'pg';
import { PgopsError } from '../../errors.ts';
import { STABLE_TEXT_SETTINGS } from '../../pg/fingerprint.ts';

export interface Snapshot {
  id: string;
  lsn: string;
  time: string;
}

// Opens a read-only repeatable-read transaction and exports its snapshot; pg_dump --snapshot and the fingerprint
// connection both import it, so the dump and the fingerprints see the same data. Keep the transaction open until
// pg_dump has finished.
export async function exportSnapshot(client: pg.Client): Promise<Snapshot> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const { rows } = await client.query<{ id: string; lsn: string; time: Date }>(
    `SELECT pg_export_snapshot() AS id,
            (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
            statement_timestamp() AS time`,
  );
  return { id: rows[0].id, lsn: rows[0].lsn, time: rows[0].time.toISOString() };
}

// Joins an exported snapshot on another connection, with the settings that make row text stable.
export async function importSnapshot(client: pg.Client, id: string, lockTimeoutMs: number): Promise<void> {
  if (!/^[0-9A-F-]+$/i.test(id)) throw new PgopsError(`unexpected snapshot id "${id}"`);
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await client.query(`SET TRANSACTION SNAPSHOT '${id}'`);
  for (const s of STABLE_TEXT_SETTINGS) await client.query(s);
  await client.query(`SET LOCAL lock_timeout = ${Math.max(0, Math.round(lockTimeoutMs))}`);
  // the counts run beside pg_dump and take CPU from it: no parallel workers, no JIT compilation of simple scans
  await client.query('SET LOCAL max_parallel_workers_per_gather = 0');
  await client.query('SET LOCAL jit = off');
}
