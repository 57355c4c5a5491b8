import os from 'node:os';
import { findSet, setPrefix } from '../../backup-set.ts';
import { ExitCode, usageError } from '../../errors.ts';
import { findPgTool, readsDumpOf } from '../../pg/binaries.ts';
import { childAuth, displayUrl, parseDbUrl, type ConnInfo } from '../../pg/connection.ts';
import { differenceText, propertyDifferences, readDatabaseProperties, type DatabaseProperties } from '../../pg/database-properties.ts';
import { openRepo } from '../../repo/open.ts';
import type { TaskHandler } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { applySet } from './apply.ts';
import { checkListed, fetchVerified } from './fetch.ts';
import { sourceDatabase } from './source.ts';
import { restorePasses } from './selection.ts';
import { checkSelection } from './selection-check.ts';
import { checkTarget, inspectTarget, withAdmin } from './target.ts';

// pgops restore: verify every file of a set, then create the target if asked, restore globals if asked, pg_restore.
export const restore: TaskHandler<'restore'> = async (ctx) => {
  const { options: o, log } = ctx;
  if (!o.to) throw usageError('no target database given', 'pass --to postgresql://user@host:5432/dbname (a new or empty database; --create makes it)');
  const target = parseDbUrl(o.to as string, ctx.env);
  const passes = restorePasses(o.table as string[] | undefined, o.schema as string[] | undefined);
  const repo = await openRepo(o.repo as string | undefined, o, log);
  const auth = childAuth(target, ctx.env);
  try {
    const database = await sourceDatabase(repo, o);
    const set = await findSet(repo, database, o.backup as string);
    const m = set.manifest;
    log.info('plan', `restore backup ${m.backupId} of "${m.database}" (${formatSize(m.totalSize)}, snapshot ${m.snapshot.time}) into ${displayUrl(target)}${passes[0].length ? ` (only ${passes.flat().join(' ')})` : ''}`, { backupId: m.backupId });

    // before the target is touched: a restore reads only what the manifest lists (globals.sql with --globals)
    checkListed(m, { globals: Boolean(o.globals) });
    checkSelection(m, o.table as string[] | undefined, o.schema as string[] | undefined);
    const state = await inspectTarget(target);
    checkTarget(state, target, m, { create: Boolean(o.create), clean: Boolean(o.clean), force: Boolean(o.force) });
    // an existing database keeps its own properties: say which of the backed-up database's it does not have
    const notApplied = !state.missing && m.databaseProperties ? await existingDifferences(target, m.databaseProperties) : [];
    for (const d of notApplied) log.warn('properties', `not applied to the existing database: ${d}`);
    const pgRestore = await findPgTool('pg_restore', { pgBin: o.pgBin as string | undefined, ...readsDumpOf(m.pgDump.version) });
    const psql = o.globals ? await findPgTool('psql', { pgBin: o.pgBin as string | undefined }) : undefined;

    const started = Date.now();
    const verified = await fetchVerified(repo, setPrefix(m.database, m.backupId), m, {
      tmpDir: o.tmpDir as string | undefined,
      signal: ctx.signal,
      globals: Boolean(o.globals),
      onFile: (f) => log.debug('verify', `checking ${f.path} (${formatSize(f.size)})`),
    });
    if (verified.unlisted.length) log.warn('unlisted', `the dump's folder holds ${verified.unlisted.length} file(s) the manifest does not list (${verified.unlisted.slice(0, 5).join(', ')}${verified.unlisted.length > 5 ? ', ...' : ''}): not read; the listed files were copied and checked instead of being read in place`);
    log.info('verified', `all ${m.files.length} files match the manifest's sha256${verified.downloaded ? ` (downloaded to ${verified.dir})` : ''}`);
    try {
      const { warnings, notReproduced } = await applySet({
        log,
        signal: ctx.signal,
        target,
        env: auth.env,
        dir: verified.dir,
        workDir: verified.downloaded ? verified.dir : ((o.tmpDir as string | undefined) ?? os.tmpdir()),
        createDatabase: state.missing,
        properties: m.databaseProperties,
        skipUnavailable: Boolean(o.skipUnavailableProperties),
        pgRestore,
        psql,
        passes,
        jobs: o.jobs as number,
        clean: Boolean(o.clean),
        noOwner: Boolean(o.noOwner),
        dependencies: state.userTables.length === 0,
      });
      const durationMs = Date.now() - started;
      const missing = [...notReproduced, ...notApplied];
      const summary = [
        `restored backup ${m.backupId} of "${m.database}" into ${displayUrl(target)} in ${formatDuration(durationMs)}${warnings.length ? ` with ${warnings.length} warning(s)` : ''}`,
        ...missing.map((x) => `  database property not reproduced: ${x}`),
        ...warnings.map((x) => `  warning: ${x}`),
      ].join('\n');
      log.info('done', summary.split('\n')[0], { backupId: m.backupId, durationMs });
      return {
        exitCode: warnings.length || missing.length ? ExitCode.WARNING : ExitCode.OK,
        summary,
        data: { ok: true, backupId: m.backupId, database: m.database, target: displayUrl(target), created: state.missing, durationMs, warnings, notReproduced: missing, tables: m.fingerprints.tables.length },
      };
    } finally {
      await verified.cleanup();
    }
  } finally {
    auth.cleanup();
    await repo.close();
  }
};

// The backed-up database's properties that an existing target database does not have.
async function existingDifferences(target: ConnInfo, expected: DatabaseProperties): Promise<string[]> {
  const found = await withAdmin(target, (admin) => readDatabaseProperties(admin, target.database));
  return propertyDifferences(expected, found).map(differenceText);
}
