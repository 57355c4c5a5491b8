import type pg from 'pg';

// Runs `fn` with statement_timeout set to `ms` (0: none) and puts the session's value back afterwards.
// Maintenance statements (REINDEX CONCURRENTLY, VACUUM, REFRESH) run as long as the data needs; the session's
// --statement-timeout is meant for the catalogue queries around them. Their lock waits stay bounded by lock_timeout.
export async function withStatementTimeout<T>(client: pg.Client, ms: number, fn: () => Promise<T>): Promise<T> {
  const { rows } = await client.query<{ v: string }>(`SELECT current_setting('statement_timeout') AS v`);
  await client.query(`SELECT set_config('statement_timeout', $1, false)`, [String(Math.round(ms))]);
  try {
    return await fn();
  } finally {
    await client.query(`SELECT set_config('statement_timeout', $1, false)`, [rows[0].v]).catch(() => {});
  }
}
