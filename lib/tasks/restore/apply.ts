import fs from 'node:fs/promises';
import type pg from 'pg';
import path from 'node:path';
import type { Logger } from '../../log.ts';
import type { PgBinary } from '../../pg/binaries.ts';
import { libpqConnString, type ConnInfo } from '../../pg/connection.ts';
import type { DatabaseProperties } from '../../pg/database-properties.ts';
import { execPgTool } from '../../pg/exec-tool.ts';
import { afterRestoreSql, beforeRestoreSql } from './database-sql.ts';
import { createWithProperties, globalsCreates, planProperties, targetCapabilities } from './database.ts';
import { restoreDependencies } from './dependencies.ts';
import { applyGlobals } from './globals.ts';
import { executeEach, withAdmin } from './target.ts';

export interface ApplyRequest {
  log: Logger;
  signal: AbortSignal;
  target: ConnInfo;
  env: NodeJS.ProcessEnv;
  /** the verified set's folder (dump, globals.sql) */
  dir: string;
  /** where list files may be written */
  workDir: string;
  createDatabase: boolean;
  /** the backed-up database's properties (manifest), which a created database gets; undefined for an older set */
  properties?: DatabaseProperties;
  /** create the database without the properties the target cannot reproduce, instead of refusing */
  skipUnavailable: boolean;
  pgRestore: PgBinary;
  /** restore globals.sql first with this psql */
  psql?: PgBinary;
  /** pg_restore selection passes (restorePasses); [[]] restores everything */
  passes: string[][];
  jobs: number;
  clean: boolean;
  noOwner: boolean;
  /** restore the schemas, types and functions selected tables may use first (the target is empty) */
  dependencies: boolean;
}

export interface ApplyResult {
  /** problems that did not stop the restore: globals.sql statements, properties that could not be applied */
  warnings: string[];
  /** properties of the backed-up database the created one does not have, each with why */
  notReproduced: string[];
}

// Writes a verified set into the target: globals, the database with the backed-up one's properties, its owner and
// comment, pg_restore --exit-on-error, then the settings and privileges that could get in its way.
export async function applySet(req: ApplyRequest): Promise<ApplyResult> {
  const warnings: string[] = [];
  const notReproduced: string[] = [];
  const globalsTarget = req.createDatabase ? await preflight(req) : req.target;
  if (req.psql) warnings.push(...(await restoreGlobals(req, globalsTarget)));
  const created = req.createDatabase ? await createTarget(req) : undefined;
  if (created) {
    notReproduced.push(...created.notReproduced);
    warnings.push(...created.warnings);
  }
  await restoreObjects(req);
  if (created) warnings.push(...(await applyProperties(req, created.after)));
  return { warnings, notReproduced };
}

// Before anything is written: refuses what neither the target nor globals.sql can provide. Returns the target's
// maintenance database, where globals.sql goes while the target database does not exist yet (so that a tablespace
// it makes is there for CREATE DATABASE).
async function preflight(req: ApplyRequest): Promise<ConnInfo> {
  const p = req.properties;
  const globals = req.psql ? globalsCreates(await fs.readFile(path.join(req.dir, 'globals.sql'), 'utf8')) : undefined;
  return withAdmin(req.target, async (admin, where) => {
    if (p) planProperties(p, await targetCapabilities(admin), { noOwner: req.noOwner, skipUnavailable: req.skipUnavailable, globals });
    return where;
  });
}

// Applies globals.sql with psql (roles that exist are kept); returns the problems, which do not stop the restore.
async function restoreGlobals(req: ApplyRequest, where: ConnInfo): Promise<string[]> {
  req.log.info('globals', 'restoring roles and tablespaces from globals.sql');
  const problems = await applyGlobals({ psql: req.psql!, file: path.join(req.dir, 'globals.sql'), connString: libpqConnString(where), env: req.env, currentUser: req.target.user, signal: req.signal });
  for (const problem of problems) req.log.warn('globals', `globals.sql: ${problem}`);
  return problems.map((problem) => `globals.sql: ${problem}`);
}

// Creates the target database with the properties the target can reproduce (checked again now that globals.sql
// ran) and gives it its owner and comment, on one connection; returns what it left out, the statements that
// failed, and the property statements for after pg_restore.
async function createTarget(req: ApplyRequest): Promise<{ notReproduced: string[]; warnings: string[]; after: string[] }> {
  const { log, target } = req;
  const p = req.properties;
  const notReproduced: string[] = [];
  const warnings: string[] = [];
  let roles: ReadonlySet<string> = new Set();
  await withAdmin(target, async (admin) => {
    const capabilities = await targetCapabilities(admin);
    const plan = p && planProperties(p, capabilities, { noOwner: req.noOwner, skipUnavailable: req.skipUnavailable });
    roles = plan?.roles ?? capabilities.roles;
    const locale = p ? ` (${p.encoding}, ${p.localeProvider}, LC_COLLATE ${p.collate}${p.iculocale ? `, locale ${p.iculocale}` : ''})` : '';
    log.info('create', `creating database "${target.database}"${locale}`);
    notReproduced.push(...(await createWithProperties(admin, target.database, p, capabilities, plan, req.skipUnavailable)));
    if (p) warnings.push(...(await applyPropertiesOn(req, admin, beforeRestoreSql(target.database, p, { noOwner: req.noOwner }))));
  });
  if (!p) notReproduced.push("every database property: the set records none (taken by an older pgops); the database has the server's defaults");
  // without --no-owner, a missing role was refused before anything was written
  if (p && req.noOwner) notReproduced.push(...p.roleSettings.filter((r) => !roles.has(r.role)).map((r) => `settings of role ${JSON.stringify(r.role)} in the database (the role does not exist on the target)`));
  for (const n of notReproduced) log.warn('properties', `not reproduced: ${n}`);
  return { notReproduced, warnings, after: p ? afterRestoreSql(target.database, p, { noOwner: req.noOwner, roles }) : [] };
}

// pg_restore --exit-on-error, one run per selection pass, after the dependencies of selected tables.
async function restoreObjects(req: ApplyRequest): Promise<void> {
  const connString = libpqConnString(req.target);
  const dump = path.join(req.dir, 'dump');
  if (req.dependencies && req.passes[0].length) {
    req.log.info('dependencies', 'restoring the schemas, types, functions and sequences the selected tables may use');
    const errors = await restoreDependencies({ pgRestore: req.pgRestore, dump, workDir: req.workDir, connString, env: req.env, signal: req.signal, noOwner: req.noOwner });
    for (const e of errors) req.log.debug('dependencies', e);
  }
  for (const selection of req.passes) {
    const args = [`--dbname=${connString}`, '--exit-on-error', '--no-password', ...selection];
    if (req.jobs > 1) args.push(`--jobs=${req.jobs}`);
    if (req.clean) args.push('--clean', '--if-exists');
    if (req.noOwner) args.push('--no-owner', '--no-privileges');
    req.log.info('pg_restore', `pg_restore ${req.pgRestore.version}${req.jobs > 1 ? ` with ${req.jobs} jobs` : ''}${selection.length ? ' ' + selection.join(' ') : ''}`);
    await execPgTool({
      file: req.pgRestore.path,
      args: [...args, dump],
      env: req.env,
      signal: req.signal,
      what: 'pg_restore',
      hint: 'a missing role needs --globals (or --no-owner); an existing object means the target was not empty; the target was partly restored: drop it and restore again',
    });
  }
}

// Runs property statements on the target's maintenance database; a statement that fails is a warning naming it.
async function applyProperties(req: ApplyRequest, statements: string[]): Promise<string[]> {
  if (statements.length === 0) return [];
  return withAdmin(req.target, (admin) => applyPropertiesOn(req, admin, statements));
}

// Runs property statements on an open maintenance connection, logging them and each one that failed.
async function applyPropertiesOn(req: ApplyRequest, admin: pg.Client, statements: string[]): Promise<string[]> {
  if (statements.length === 0) return [];
  req.log.info('properties', `applying ${statements.length} database propert${statements.length === 1 ? 'y' : 'ies'}`);
  const failures = await executeEach(admin, statements);
  for (const f of failures) req.log.warn('properties', f);
  return failures;
}
