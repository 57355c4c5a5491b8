import { setPrefix } from '../../repo/layout.ts';
import type { Manifest } from '../../repo/manifest.ts';
import { confirmOnTerminal } from '../../confirm.ts';
import { ExitCode, usageError } from '../../errors.ts';
import { findPgTool, readsDumpOf, type PgBinary } from '../../pg/binaries.ts';
import { childAuth, displayUrl, parseDbUrl, type ConnInfo } from '../../pg/connection.ts';
import { differenceText, propertyDifferences, readDatabaseProperties, type DatabaseProperties } from '../../pg/database-properties.ts';
import { openRepo } from '../../repo/open.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { applySet, type ApplyResult } from './apply.ts';
import { checkListed, fetchVerified } from './fetch.ts';
import { chooseSet } from './source.ts';
import { restorePasses } from './selection.ts';
import { checkSelection } from './selection-check.ts';
import { checkTarget, inspectTarget, withAdmin, type TargetState } from './target.ts';

// What a drill reuses of restore: the set chosen the same way, its files fetched and verified, then applied.
export { chooseSet } from './source.ts';
export { fetchVerified, type VerifiedSet } from './fetch.ts';
export { applySet, type ApplyRequest, type ApplyResult } from './apply.ts';

// pgops restore: verify every file of a set, then create the target if asked, restore globals if asked, pg_restore.
export const restore: TaskHandler<'restore'> = async (ctx) => {
  const { options: o, log } = ctx;
  if (!o.to) throw usageError('no target database given', 'pass --to postgresql://user@host:5432/dbname (a new or empty database; --create makes it)');
  const target = parseDbUrl(o.to, ctx.env);
  const passes = restorePasses(o.table, o.schema);
  const repo = await openRepo(o.repo, o, log, { reads: true });
  const auth = childAuth(target, ctx.env);
  try {
    const { manifest: m } = await chooseSet(repo, o);
    log.info('plan', `restore backup ${m.backupId} of "${m.database}" (${formatSize(m.totalSize)}, snapshot ${m.snapshot.time}) into ${displayUrl(target)}${passes[0].length ? ` (only ${passes.flat().join(' ')})` : ''}`, { backupId: m.backupId });
    const { state, notApplied, pgRestore, psql } = await prepare(ctx, target, m);
    // writing over what a database holds: a person at a terminal types its name first (cron is not asked)
    if (!state.missing && (o.clean || o.force)) {
      await confirmOnTerminal(ctx.terminal, `restore ${o.clean ? '--clean drops the objects of the backup that exist in' : '--force restores into'} ${displayUrl(target)}`, target.database, ctx.signal);
    }

    const started = Date.now();
    const verified = await fetchVerified(repo, setPrefix(m.database, m.backupId), m, {
      tmpDir: o.tmpDir,
      signal: ctx.signal,
      globals: o.globals,
      onFile: (f) => log.debug('verify', `checking ${f.path} (${formatSize(f.size)})`),
    });
    if (verified.unlisted.length) log.warn('unlisted', `the dump's folder holds ${verified.unlisted.length} file(s) the manifest does not list (${verified.unlisted.slice(0, 5).join(', ')}${verified.unlisted.length > 5 ? ', ...' : ''}): not read; the listed files were copied and checked instead of being read in place`);
    log.info('verified', `all ${m.files.length} files match the manifest's sha256${verified.downloaded ? ` (downloaded to ${verified.dir})` : ''}`);
    try {
      const applied = await applySet({
        log,
        signal: ctx.signal,
        target,
        env: auth.env,
        dir: verified.dir,
        workDir: verified.workDir,
        createDatabase: state.missing,
        properties: m.databaseProperties,
        skipUnavailable: o.skipUnavailableProperties,
        pgRestore,
        psql,
        passes,
        jobs: o.jobs,
        clean: o.clean,
        noOwner: o.noOwner,
        dependencies: state.userTables.length === 0,
      });
      return restoreResult(ctx, m, target, state, { ...applied, notReproduced: [...applied.notReproduced, ...notApplied] }, Date.now() - started);
    } finally {
      await verified.cleanup();
    }
  } finally {
    auth.cleanup();
    await repo.close();
  }
};

// Everything that can refuse the restore, before the target is touched: a restore reads only what the manifest lists
// (globals.sql with --globals), selects only what the dump holds, and writes only into a target checkTarget allows.
// Returns the target's state, the backed-up database's properties an existing target lacks, and the programs.
async function prepare(ctx: TaskContext<'restore'>, target: ConnInfo, m: Manifest): Promise<{ state: TargetState; notApplied: string[]; pgRestore: PgBinary; psql?: PgBinary }> {
  const o = ctx.options;
  checkListed(m, { globals: o.globals });
  checkSelection(m, o.table, o.schema);
  const state = await inspectTarget(target);
  checkTarget(state, target, m, { create: o.create, clean: o.clean, force: o.force });
  // an existing database keeps its own properties: say which of the backed-up database's it does not have
  const notApplied = !state.missing && m.databaseProperties ? await existingDifferences(target, m.databaseProperties) : [];
  for (const d of notApplied) ctx.log.warn('properties', `not applied to the existing database: ${d}`);
  const pgRestore = await findPgTool('pg_restore', { pgBin: o.pgBin, ...readsDumpOf(m.pgDump.version) });
  const psql = o.globals ? await findPgTool('psql', { pgBin: o.pgBin }) : undefined;
  return { state, notApplied, pgRestore, psql };
}

// The restore's result: exit 1 when pg_restore warned or a database property was not reproduced.
function restoreResult(ctx: TaskContext<'restore'>, m: Manifest, target: ConnInfo, state: TargetState, applied: ApplyResult, durationMs: number): TaskResult {
  const { warnings, notReproduced: missing } = applied;
  const summary = [
    `restored backup ${m.backupId} of "${m.database}" into ${displayUrl(target)} in ${formatDuration(durationMs)}${warnings.length ? ` with ${warnings.length} warning(s)` : ''}`,
    ...missing.map((x) => `  database property not reproduced: ${x}`),
    ...warnings.map((x) => `  warning: ${x}`),
  ].join('\n');
  ctx.log.info('done', summary.split('\n')[0], { backupId: m.backupId, durationMs });
  return {
    exitCode: warnings.length || missing.length ? ExitCode.WARNING : ExitCode.OK,
    summary,
    data: { ok: true, backupId: m.backupId, database: m.database, target: displayUrl(target), created: state.missing, durationMs, warnings, notReproduced: missing, tables: m.fingerprints.tables.length },
  };
}

// The backed-up database's properties that an existing target database does not have.
async function existingDifferences(target: ConnInfo, expected: DatabaseProperties): Promise<string[]> {
  const found = await withAdmin(target, (admin) => readDatabaseProperties(admin, target.database));
  return propertyDifferences(expected, found).map(differenceText);
}
