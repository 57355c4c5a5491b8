import path from 'node:path';
import type { Logger } from '../../log.ts';
import type { PgBinary } from '../../pg/binaries.ts';
import { libpqConnString, type ConnInfo } from '../../pg/connection.ts';
import { runPgTool } from '../../pg/run-tool.ts';
import { restoreDependencies } from './dependencies.ts';
import { applyGlobals } from './globals.ts';
import { createDatabase } from './target.ts';

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

// Writes a verified set into the target: create the database, globals, then pg_restore --exit-on-error.
// Returns the problems that did not stop the restore (globals.sql statements that failed).
export async function applySet(req: ApplyRequest): Promise<string[]> {
  const { log, target } = req;
  const connString = libpqConnString(target);
  if (req.createDatabase) {
    log.info('create', `creating database "${target.database}"`);
    await createDatabase(target);
  }
  const warnings: string[] = [];
  if (req.psql) {
    log.info('globals', 'restoring roles and tablespaces from globals.sql');
    const problems = await applyGlobals({ psql: req.psql, file: path.join(req.dir, 'globals.sql'), connString, env: req.env, currentUser: target.user, signal: req.signal });
    for (const p of problems) log.warn('globals', `globals.sql: ${p}`);
    warnings.push(...problems.map((p) => `globals.sql: ${p}`));
  }
  const dump = path.join(req.dir, 'dump');
  if (req.dependencies && req.passes[0].length) {
    log.info('dependencies', 'restoring the schemas, types, functions and sequences the selected tables may use');
    const errors = await restoreDependencies({ pgRestore: req.pgRestore, dump, workDir: req.workDir, connString, env: req.env, signal: req.signal, noOwner: req.noOwner });
    for (const e of errors) log.debug('dependencies', e);
  }
  for (const selection of req.passes) {
    const args = [`--dbname=${connString}`, '--exit-on-error', '--no-password', ...selection];
    if (req.jobs > 1) args.push(`--jobs=${req.jobs}`);
    if (req.clean) args.push('--clean', '--if-exists');
    if (req.noOwner) args.push('--no-owner', '--no-privileges');
    log.info('pg_restore', `pg_restore ${req.pgRestore.version}${req.jobs > 1 ? ` with ${req.jobs} jobs` : ''}${selection.length ? ' ' + selection.join(' ') : ''}`);
    await runPgTool({
      file: req.pgRestore.path,
      args: [...args, dump],
      env: req.env,
      signal: req.signal,
      what: 'pg_restore',
      hint: 'a missing role needs --globals (or --no-owner); an existing object needs --clean or an empty target; the target was partly restored: drop it and restore again',
    });
  }
  return warnings;
}
