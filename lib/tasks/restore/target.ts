import type pg from 'pg';
import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import { connect, displayUrl, withDatabase, type ConnInfo } from '../../pg/connection.ts';
import { serverFacts, type ServerFacts } from '../../pg/server.ts';
import type { Manifest } from '../../repo/manifest.ts';

export interface TargetState {
  facts: ServerFacts | undefined;
  /** the target database does not exist yet (restore --create makes it) */
  missing: boolean;
  userTables: string[];
}

// Looks at the target before anything is written: does it exist, is it the backup's own database, has it tables.
export async function inspectTarget(info: ConnInfo): Promise<TargetState> {
  let client: pg.Client;
  try {
    client = await connect(info, 'pgops restore');
  } catch (err) {
    if (/does not exist/.test(messageOf(err)) && new RegExp(`database "${info.database.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`).test(messageOf(err))) {
      return { facts: undefined, missing: true, userTables: [] };
    }
    throw err;
  }
  try {
    const facts = await serverFacts(client);
    const { rows } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1`,
    );
    return { facts, missing: false, userTables: rows.map((r) => r.name) };
  } finally {
    await client.end().catch(() => {});
  }
}

// The refusals: a missing database without --create, the backup's own database without --force, tables without --clean.
export function checkTarget(state: TargetState, info: ConnInfo, manifest: Manifest, o: { create: boolean; clean: boolean; force: boolean }): void {
  const where = displayUrl(info);
  if (state.missing) {
    if (!o.create) throw new PgopsError(`database "${info.database}" does not exist on ${where}`, { code: ExitCode.UNKNOWN, hint: 'add --create to create it, or name an existing database in --to' });
    return;
  }
  if (state.facts?.inRecovery) throw new PgopsError(`${where} is a standby (in recovery) and cannot be written`, { code: ExitCode.UNKNOWN, hint: 'restore into the primary, or into another server' });
  const sameServer = state.facts?.systemIdentifier != null && state.facts.systemIdentifier === manifest.server.systemIdentifier;
  if (sameServer && info.database === manifest.database && !o.force) {
    throw new PgopsError(`refusing to restore into database "${info.database}" on ${where}: it is the database backup ${manifest.backupId} came from`, {
      code: ExitCode.UNKNOWN,
      hint: 'restore into a new database (--to .../newname --create) and copy back what you need; add --force only if overwriting the source is really what you want',
    });
  }
  if (state.userTables.length > 0 && !o.clean) {
    const some = state.userTables.slice(0, 5).join(', ') + (state.userTables.length > 5 ? `, ... (${state.userTables.length} in all)` : '');
    throw new PgopsError(`database "${info.database}" on ${where} already has tables: ${some}`, {
      code: ExitCode.UNKNOWN,
      hint: `restore into a new database (--to .../${info.database}_restored --create) and copy what you need from there; --clean would drop and recreate the backup's objects in this database, with whatever they hold now`,
    });
  }
}

// Runs fn on a connection to the target server's maintenance database (postgres, else template1), whose
// search_path holds only pg_catalog; fn also gets where that connection goes.
export async function withAdmin<T>(info: ConnInfo, fn: (admin: pg.Client, where: ConnInfo) => Promise<T>): Promise<T> {
  let where = withDatabase(info, 'postgres');
  let client: pg.Client;
  try {
    client = await connect(where, 'pgops restore', { catalogOnly: true });
  } catch {
    where = withDatabase(info, 'template1');
    client = await connect(where, 'pgops restore', { catalogOnly: true });
  }
  try {
    return await fn(client, where);
  } finally {
    await client.end().catch(() => {});
  }
}

// Runs each statement on its own; returns one line per statement that failed (the others still run).
export async function executeEach(client: pg.Client, statements: string[]): Promise<string[]> {
  const failures: string[] = [];
  for (const sql of statements) {
    try {
      await client.query(sql);
    } catch (err) {
      failures.push(`database property not applied: ${sql}: ${messageOf(err)}`);
      await client.query('RESET ROLE').catch(() => {});
    }
  }
  return failures;
}
