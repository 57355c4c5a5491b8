import fs from 'node:fs';
import os from 'node:os';
import { backupIdFor, findSet, setPrefix } from '../../backup-set.ts';
import { drillKey, type DrillCheck, type DrillReport } from '../../drill-report.ts';
import { ExitCode, PgopsError, messageOf, usageError } from '../../errors.ts';
import { findPgTool, readsDumpOf } from '../../pg/binaries.ts';
import { childAuth, connect, displayUrl, parseDbUrl, withDatabase } from '../../pg/connection.ts';
import { serverFacts } from '../../pg/server.ts';
import { openRepo } from '../../repo/open.ts';
import type { TaskHandler } from '../../task.ts';
import { formatDuration } from '../../units.ts';
import { VERSION } from '../../version.ts';
import { applySet } from '../restore/apply.ts';
import { fetchVerified } from '../restore/fetch.ts';
import { sourceDatabase } from '../restore/source.ts';
import { loadAssertions } from './assertions.ts';
import { renderMarkdown, renderText } from './render.ts';
import { dropScratch, ensureAbsent, scratchName } from './scratch.ts';
import { verifyRestored } from './verify.ts';

// pgops drill: restore the newest (or a given) backup into a scratch database and prove it matches what was dumped.
export const drill: TaskHandler<'drill'> = async (ctx) => {
  const { options: o, log } = ctx;
  const serverUrl = typeof o.target === 'string' && o.target.includes('://') ? o.target : (o.drillTarget as string | undefined);
  if (!serverUrl) throw usageError('no drill server given', 'pass --target postgresql://user@host:5432/postgres (or --drill-target, PGOPS_DRILL_TARGET, or drill-target in the config file)');
  const server = parseDbUrl(serverUrl, ctx.env);
  if (!new URL(serverUrl).pathname.replace(/^\//, '') && !new URL(serverUrl).searchParams.get('dbname')) server.database = 'postgres';
  const assertions = loadAssertions((o.assert as string[] | undefined) ?? []);
  const repo = await openRepo(o.repo as string | undefined, o, log, { writer: true });
  const auth = childAuth(server, ctx.env);
  const started = ctx.now();
  const drillId = backupIdFor(started);
  let report: DrillReport | undefined;
  try {
    const database = await sourceDatabase(repo, o);
    const set = await findSet(repo, database, o.backup as string);
    const m = set.manifest;
    const scratch = scratchName(m.backupId);
    const target = withDatabase(server, scratch);
    report = {
      format: 'pgops-drill-report', reportVersion: 1, drillId, database: m.database, backupId: m.backupId, result: 'error',
      startedAt: started.toISOString(), finishedAt: started.toISOString(), target: displayUrl(server), scratchDatabase: scratch,
      kept: Boolean(o.keep), rtoMs: null, rpoMs: started.getTime() - Date.parse(m.snapshot.time), checks: [], tool: { name: 'pgops', version: VERSION },
    };
    const checks = report.checks;

    const admin = await connect(server, 'pgops drill');
    try {
      const facts = await serverFacts(admin);
      if (facts.systemIdentifier !== null && facts.systemIdentifier === m.server.systemIdentifier && server.database === m.database) {
        throw usageError(`refusing to use database "${m.database}" as the drill server connection: it is the database the backup came from`, 'point --target at the maintenance database (postgres) of a server; the drill restores into a new scratch database there');
      }
      if (facts.inRecovery) throw usageError(`${displayUrl(server)} is a standby and cannot take a restore`, 'run drills on a primary or a scratch server');
      await ensureAbsent(admin, scratch);
    } finally {
      await admin.end().catch(() => {});
    }
    const [pgRestore, psql] = await Promise.all([
      findPgTool('pg_restore', { pgBin: o.pgBin as string | undefined, ...readsDumpOf(m.pgDump.version) }),
      findPgTool('psql', { pgBin: o.pgBin as string | undefined }),
    ]);
    log.info('plan', `drill ${drillId}: backup ${m.backupId} of "${m.database}" (snapshot ${m.snapshot.time}) into scratch database ${scratch} on ${displayUrl(server)}`, { backupId: m.backupId });

    let created = false;
    try {
      const t0 = Date.now();
      let verified: Awaited<ReturnType<typeof fetchVerified>> | undefined;
      try {
        verified = await fetchVerified(repo, setPrefix(m.database, m.backupId), m, { tmpDir: o.tmpDir as string | undefined, signal: ctx.signal });
        checks.push({ name: 'checksums', status: 'pass', detail: `${m.files.length} files match the manifest's sha256` });
      } catch (err) {
        if (!(err instanceof PgopsError && err.code === ExitCode.INTEGRITY)) throw err;
        checks.push({ name: 'checksums', status: 'fail', detail: err.message });
      }
      let restored = false;
      let notReproduced: string[] = [];
      if (verified) {
        try {
          created = true;
          const applied = await applySet({
            log, signal: ctx.signal, target, env: auth.env, dir: verified.dir,
            workDir: verified.downloaded ? verified.dir : ((o.tmpDir as string | undefined) ?? os.tmpdir()),
            createDatabase: true, properties: m.databaseProperties, skipUnavailable: Boolean(o.skipUnavailableProperties),
            pgRestore, psql, passes: [[]], jobs: o.jobs as number, clean: false, noOwner: false, dependencies: false,
          });
          notReproduced = applied.notReproduced;
          restored = true;
          checks.push({ name: 'restore', status: 'pass', detail: `pg_restore --exit-on-error${(o.jobs as number) > 1 ? ` --jobs ${o.jobs}` : ''} succeeded${applied.warnings.length ? `; ${applied.warnings.join('; ')}` : ''}` });
        } catch (err) {
          // the drill server cannot take the database as it was (a role, tablespace or ICU it lacks): nothing was
          // restored, and that says nothing about the backup
          if (ctx.signal.aborted || (err instanceof PgopsError && err.code === ExitCode.UNKNOWN)) throw err;
          checks.push({ name: 'restore', status: 'fail', detail: messageOf(err) });
        } finally {
          await verified.cleanup();
        }
        report.rtoMs = Date.now() - t0;
      }
      if (restored) checks.push(...(await verifyRestored({ target, manifest: m, notReproduced, assertions, amcheck: Boolean(o.amcheck), statementTimeoutMs: o.statementTimeout as number, log, signal: ctx.signal, jobs: o.jobs as number })));
      checks.push(...limits(report, o.maxRpo as number | undefined, o.maxRto as number | undefined));
    } finally {
      if (created && !o.keep) {
        const dropped = await dropScratch(server, scratch);
        if (typeof dropped === 'object') log.warn('cleanup', `could not drop the scratch database ${scratch}: ${dropped.problem}`, { hint: `drop it by hand: DROP DATABASE ... WITH (FORCE)` });
        else log.info('cleanup', dropped === 'dropped' ? `dropped the scratch database ${scratch}` : `no scratch database ${scratch} to drop: the drill stopped before creating it`);
      }
    }
    report.result = checks.some((c) => c.status === 'fail') ? 'fail' : 'pass';
  } catch (err) {
    if (report) {
      report.error = messageOf(err);
      report.finishedAt = ctx.now().toISOString();
      await store(report);
    }
    await repo.close();
    throw err;
  } finally {
    auth.cleanup();
  }
  report.finishedAt = ctx.now().toISOString();
  await store(report);
  await repo.close();
  const text = renderText(report);
  (report.result === 'pass' ? log.info : log.error)('done', text.split('\n')[0], { drillId, backupId: report.backupId, result: report.result });
  return { exitCode: report.result === 'pass' ? ExitCode.OK : ExitCode.FAILED, summary: text, data: report };

  async function store(r: DrillReport): Promise<void> {
    try {
      await repo.putBytes(drillKey(r.database, r.drillId), JSON.stringify(r, null, 2) + '\n', { ifAbsent: true });
    } catch (err) {
      log.warn('report', `could not store the drill report: ${messageOf(err)}`);
    }
    const summaryFile = ctx.env.GITHUB_STEP_SUMMARY;
    if (summaryFile) {
      try {
        fs.appendFileSync(summaryFile, renderMarkdown(r) + '\n');
      } catch (err) {
        log.warn('report', `could not append to GITHUB_STEP_SUMMARY: ${messageOf(err)}`);
      }
    }
  }
};

// The RPO and RTO checks, when limits are set.
function limits(r: DrillReport, maxRpo?: number, maxRto?: number): DrillCheck[] {
  const out: DrillCheck[] = [];
  if (maxRpo !== undefined) {
    out.push(r.rpoMs <= maxRpo
      ? { name: 'rpo', status: 'pass', detail: `backup is ${formatDuration(r.rpoMs)} old at drill start (limit ${formatDuration(maxRpo)})` }
      : { name: 'rpo', status: 'fail', detail: `backup is ${formatDuration(r.rpoMs)} old at drill start, over the limit of ${formatDuration(maxRpo)}: backups are not running often enough`, expected: maxRpo, found: r.rpoMs });
  }
  if (maxRto !== undefined) {
    if (r.rtoMs === null) out.push({ name: 'rto', status: 'skip', detail: 'the restore did not run' });
    else out.push(r.rtoMs <= maxRto
      ? { name: 'rto', status: 'pass', detail: `restore took ${formatDuration(r.rtoMs)} (limit ${formatDuration(maxRto)})` }
      : { name: 'rto', status: 'fail', detail: `restore took ${formatDuration(r.rtoMs)}, over the limit of ${formatDuration(maxRto)}`, expected: maxRto, found: r.rtoMs });
  }
  return out;
}
