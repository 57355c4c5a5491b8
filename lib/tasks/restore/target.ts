import type pg from 'pg';
import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import type { Manifest } from '../../manifest.ts';
import { connect, displayUrl, withDatabase, type ConnInfo } from '../../pg/connection.ts';
import { quoteIdent } from '../../pg/ident.ts';
import { serverFacts, type ServerFacts } from '../../pg/server.ts';

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
      hint: 'restore into an empty or new database (--create), or add --clean to drop and recreate the objects of the backup',
    });
  }
}

// Creates the target database (from template0, so nothing in template1 gets in the restore's way).
export async function createDatabase(info: ConnInfo): Promise<void> {
  let client: pg.Client;
  try {
    client = await connect(withDatabase(info, 'postgres'), 'pgops restore');
  } catch {
    client = await connect(withDatabase(info, 'template1'), 'pgops restore');
  }
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(info.database)} TEMPLATE template0`);
  } catch (err) {
    throw new PgopsError(`cannot create database "${info.database}": ${messageOf(err)}`, { code: ExitCode.FAILED, hint: 'the role needs CREATEDB; or create the database yourself and restore without --create' });
  } finally {
    await client.end().catch(() => {});
  }
}
