import type pg from 'pg';
import { ExitCode, PgopsError } from '../errors.ts';

// Takes a session-level advisory lock named `name` in the connection's database, or throws (exit 4) naming the holder.
// The lock lives as long as the connection: closing it releases the lock, also when the process dies.
export async function takeAdvisoryLock(client: pg.Client, name: string): Promise<void> {
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [name]);
  if (rows[0].ok) return;
  const holder = await client.query<{ pid: number; app: string; since: string }>(
    `SELECT a.pid, a.application_name AS app, a.backend_start::text AS since
       FROM pg_locks l JOIN pg_stat_activity a USING (pid)
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)
      LIMIT 1`,
    [name],
  );
  const h = holder.rows[0];
  const who = h ? ` (pid ${h.pid}, application "${h.app}", connected since ${h.since})` : '';
  throw new PgopsError(`another ${name} is running on this database${who}`, {
    code: ExitCode.LOCKED,
    hint: 'wait for it to finish; if it hangs, look at it in pg_stat_activity before ending it with pg_terminate_backend',
  });
}
