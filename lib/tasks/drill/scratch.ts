import type pg from 'pg';
import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import { connect, withDatabase, type ConnInfo } from '../../pg/connection.ts';
import { quoteIdent } from '../../pg/ident.ts';

// The scratch database a drill restores into: named after the backup, so a kept one says what it holds.
export function scratchName(backupId: string): string {
  return `pgops_drill_${backupId.toLowerCase()}`;
}

// Connects to the drill server's maintenance database (the one in the URL, else postgres).
export async function maintenanceConnection(server: ConnInfo): Promise<pg.Client> {
  return connect(server, 'pgops drill');
}

// Refuses when the scratch database exists already: a kept or crashed drill left it, and someone may be looking at it.
export async function ensureAbsent(client: pg.Client, name: string): Promise<void> {
  const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (rows.length) {
    throw new PgopsError(`the scratch database "${name}" exists already on the drill server`, {
      code: ExitCode.UNKNOWN,
      hint: `a drill kept it (--keep) or was killed: when nobody needs it, DROP DATABASE ${quoteIdent(name)} WITH (FORCE); then run the drill again`,
    });
  }
}

// Drops the scratch database, ending any session still in it: 'dropped', 'absent' (the drill stopped before
// creating it), or what went wrong.
export async function dropScratch(server: ConnInfo, name: string): Promise<'dropped' | 'absent' | { problem: string }> {
  let client: pg.Client | undefined;
  try {
    client = await connect(withDatabase(server, server.database), 'pgops drill cleanup', { catalogOnly: true });
    const { rows } = await client.query<{ template: boolean }>('SELECT datistemplate AS template FROM pg_catalog.pg_database WHERE datname = $1', [name]);
    if (rows.length === 0) return 'absent';
    // a backed-up template database's scratch copy is a template too, which DROP DATABASE refuses
    if (rows[0].template) await client.query(`ALTER DATABASE ${quoteIdent(name)} IS_TEMPLATE = false`);
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    return 'dropped';
  } catch (err) {
    return { problem: messageOf(err) };
  } finally {
    await client?.end().catch(() => {});
  }
}
