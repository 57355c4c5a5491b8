import { ExitCode, PgopsError, messageOf } from '../../../errors.ts';
import { parseDbUrl } from '../../../pg/connection.ts';
import { databaseNameOf } from '../../../pg/database-name.ts';
import { byteProgress } from '../../../progress.ts';
import { backupIdFor } from '../../../repo/layout.ts';
import { openRepo } from '../../../repo/open.ts';
import { PITR_DRILL_REPORT_FORMAT, type PitrDrillReport } from '../../../repo/pitr-drill-reports.ts';
import type { Repo } from '../../../repo/repo.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../../task.ts';
import { formatSize } from '../../../units.ts';
import { VERSION } from '../../../version.ts';
import { osUserIds, runningAsRoot } from '../../recover/os-user.ts';
import { spoolFolder } from '../../recover/spool.ts';
import { describeTarget, layDown, recoverySettings, restoreCommandFor, runRecovery, withResolvedRegion, stopServer, targetFromOptions, type RecoveryPlan, type RecoveryTarget } from '../../recover/index.ts';
import { loadAssertions, type Assertion } from '../assertions.ts';
import { archiveEndCheck, gapCheck, limitChecks, recoveredThrough, resultOf, targetCheck } from './checks.ts';
import { planDrill, type DrillPlan } from './plan.ts';
import { recordPitrDrill } from './record.ts';
import { renderText } from './render.ts';
import { freePort } from '../../../free-port.ts';
import { createScratch, leftoverScratch, removeScratch, serverSettings, type Scratch } from './scratch.ts';
import { findSuperuser } from './session.ts';
import { verifyRecovered } from './verify.ts';

// pgops drill --pitr: the weekly proof of the physical path. Phases: prepare (the target, the plan, the scratch
// folder), recover (check and lay the base backup down, replay on a throwaway server to the target), verify (the
// target reached, every table read, amcheck, assertions, RTO and RPO), record (the report, whatever happened); the
// scratch folder and its server are removed on pass, failure, error and SIGTERM unless --keep.
export const drillPitr: TaskHandler<'drill'> = async (ctx) => {
  const { options: o, log } = ctx;
  // drill's --target is a config target or a server URL: the recovery target comes from --target-time/-lsn/-xid/-name
  const target = targetFromOptions({ targetTime: o.targetTime, targetLsn: o.targetLsn, targetXid: o.targetXid, targetName: o.targetName });
  const assertions = loadAssertions(o.assert ?? []);
  const owner = runningAsRoot() ? await osUserIds(o.osUser) : undefined;
  for (const dir of leftoverScratch(o.tmpDir)) log.warn('leftover', `an earlier drill left its scratch folder ${dir} (kept with --keep, or killed)`, { hint: `when nobody needs it: stop its server if one runs (pg_ctl -D ${dir}/data stop -m fast, as ${o.osUser}), then rm -rf ${dir}` });
  const repo = await openRepo(o.repo, o, log, { writer: true, reads: true });
  try {
    const started = ctx.now();
    const planned = await planDrill(repo, { systemId: o.systemId, backup: o.backup }, target);
    const scratch = createScratch(o.tmpDir, owner);
    const report = startReport(planned, target, started, scratch, o);
    try {
      await recoverAndVerify(ctx, { repo, planned, target, scratch, assertions }, report);
      report.result = resultOf(report.checks);
    } catch (err) {
      report.error = messageOf(err);
      report.finishedAt = ctx.now().toISOString();
      await recordPitrDrill(repo, report, log, ctx.env);
      throw err;
    }
    report.finishedAt = ctx.now().toISOString();
    await recordPitrDrill(repo, report, log, ctx.env);
    return result(ctx, report);
  } finally {
    await repo.close();
  }
};

interface DrillRun {
  repo: Repo;
  planned: DrillPlan;
  target: RecoveryTarget;
  scratch: Scratch;
  assertions: Assertion[];
}

// The report as the drill starts: result 'error' until the checks decide, so a drill that dies on the way says so.
function startReport(p: DrillPlan, target: RecoveryTarget, started: Date, scratch: Scratch, o: TaskContext<'drill'>['options']): PitrDrillReport {
  const end = p.kind === 'plan' ? p.plan.archiveEnd : undefined;
  return {
    format: PITR_DRILL_REPORT_FORMAT, reportVersion: 1, drillId: backupIdFor(started), systemIdentifier: p.systemIdentifier, backupId: p.backup.id, result: 'error',
    startedAt: started.toISOString(), finishedAt: started.toISOString(), target: describeTarget(target),
    archiveEnd: end ? { segment: end.segment, timeline: end.timeline, lsn: end.lsn, archivedAt: end.archivedAt.toISOString() } : null,
    replay: null, durations: { downloadMs: null, layDownMs: null, verifyMs: null, replayMs: null, checksMs: null },
    rtoMs: null, rpoMs: null, limits: { maxRtoMs: o.maxRto ?? null, maxRpoMs: o.maxRpo ?? null }, integrity: null,
    scratch: { dir: scratch.dir, port: null, kept: false }, checks: [], tool: { name: 'pgops', version: VERSION },
  };
}

// Lays the backup down into the scratch folder, replays to the target and checks the promoted server, adding each
// check to the report; then stops the server and removes the folder, whatever happened, unless --keep.
async function recoverAndVerify(ctx: TaskContext<'drill'>, d: DrillRun, report: PitrDrillReport): Promise<void> {
  const o = ctx.options;
  try {
    if (d.planned.kind === 'gap') {
      report.checks.push(gapCheck(d.planned.gap, undefined, d.planned.detail));
      ctx.log.error('gap', d.planned.detail);
      return;
    }
    const plan = d.planned.plan;
    for (const w of plan.warnings) ctx.log.warn('gap', w);
    report.checks.push(gapCheck(plan.gap, plan.wal));
    ctx.log.info('plan', `drill ${report.drillId}: base backup ${plan.backup.id} of system ${plan.systemIdentifier} to ${describeTarget(d.target)} (the archive ends with ${plan.archiveEnd.segment}) in ${d.scratch.dir}`, { backupId: plan.backup.id });
    const binDir = await layDownChecked(ctx, d, plan, report);
    if (!binDir) return;
    await replay(ctx, d, plan, binDir, report);
    const rpo = report.rpoMs === null ? undefined : recoveredThrough(report.replay, plan.backup.manifest.stop.time).basis;
    report.checks.push(...limitChecks({ rpoMs: report.rpoMs, rtoMs: report.rtoMs, rpoBasis: rpo }, o.maxRpo, o.maxRto));
  } finally {
    if (o.keep) {
      report.scratch.kept = true;
      ctx.log.info('cleanup', `kept the scratch folder ${d.scratch.dir} and its server (--keep)`);
    } else {
      await stopServer(d.scratch.pgdata, o.osUser, o.pgBin).catch((err) => ctx.log.warn('cleanup', `could not stop the drill's server in ${d.scratch.pgdata}: ${messageOf(err)}`, { hint: `stop it by hand: pg_ctl -D ${d.scratch.pgdata} stop -m immediate (as ${o.osUser})` }));
      if (removeScratch(d.scratch, ctx.log)) ctx.log.info('cleanup', `removed the scratch folder ${d.scratch.dir}`);
    }
  }
}

// Checks every file of the base backup and lays it down (pg_verifybackup included): the base backup check. The
// server programs' folder, or undefined when the backup is damaged.
async function layDownChecked(ctx: TaskContext<'drill'>, d: DrillRun, plan: RecoveryPlan, report: PitrDrillReport): Promise<string | undefined> {
  const o = ctx.options;
  const check = byteProgress(ctx.log, 'checking the base backup');
  const lay = byteProgress(ctx.log, 'laying down');
  try {
    const laid = await layDown(d.repo, plan, {
      pgdata: d.scratch.pgdata, osUser: o.osUser, pgBin: o.pgBin,
      restoreCommand: restoreCommandFor(d.repo.url, plan.systemIdentifier, await withResolvedRegion(d.repo, o), spoolFolder(d.scratch.pgdata)),
      // in postgresql.auto.conf too, so that a kept data directory started by hand never archives into the repository
      settings: { ...recoverySettings(d.target, 'promote'), archive_mode: 'off' },
      signal: ctx.signal, log: ctx.log, now: ctx.now,
      onProgress: (n, phase) => (phase === 'check' ? check(n) : lay(n)),
    });
    Object.assign(report.durations, { downloadMs: laid.downloadMs, layDownMs: laid.layDownMs, verifyMs: laid.verifyMs });
    report.checks.push({ name: 'base backup', status: 'pass', detail: `${plan.backup.manifest.files.length} files match the manifest's sha256; ${laid.files} files (${formatSize(laid.tarBytes)}) laid down and accepted by pg_verifybackup` });
    return laid.binDir;
  } catch (err) {
    if (ctx.signal.aborted || !(err instanceof PgopsError && err.code === ExitCode.INTEGRITY)) throw err;
    report.checks.push({ name: 'base backup', status: 'fail', detail: err.message });
    return undefined;
  }
}

// Starts the throwaway server and waits for replay to reach the target; then the target, archive end and (once
// promoted) the checks of the recovered cluster. RTO and RPO are set from what replay did.
async function replay(ctx: TaskContext<'drill'>, d: DrillRun, plan: RecoveryPlan, binDir: string, report: PitrDrillReport): Promise<void> {
  const o = ctx.options;
  const port = await freePort();
  report.scratch.port = port;
  const end = await runRecovery({
    pgdata: d.scratch.pgdata, port, osUser: o.osUser, pgBin: binDir, action: 'promote', target: d.target, timeoutMs: o.recoveryTimeout,
    signal: ctx.signal, env: ctx.env, log: ctx.log, extraSettings: serverSettings(d.scratch), logFile: d.scratch.logFile,
    spool: { repo: d.repo, plan },
  }).catch((err: unknown) => {
    // recover's message says the data directory stays to be resumed: the drill's does not (unless --keep)
    if (!ctx.signal.aborted) throw err;
    const why = ctx.signal.reason instanceof PgopsError ? ctx.signal.reason.message : 'interrupted';
    throw new PgopsError(`${why} while the drill's server replayed WAL: the server was stopped${o.keep ? ` and the scratch folder ${d.scratch.dir} kept (--keep)` : ' and the scratch folder removed'}`, { code: ExitCode.FAILED, hint: 'nothing in the repository changed but this report; run the drill again' });
  });
  const stop = { reached: end.reached, state: end.state, lsn: end.lsn, timeline: end.timeline, lastTransactionTime: end.lastTransactionTime, ...(end.reason ? { reason: end.reason } : {}) };
  report.replay = stop;
  const dur = report.durations;
  dur.replayMs = end.replayMs;
  report.rtoMs = (dur.downloadMs ?? 0) + (dur.layDownMs ?? 0) + (dur.verifyMs ?? 0) + end.replayMs;
  report.rpoMs = Date.parse(report.startedAt) - Date.parse(recoveredThrough(stop, plan.backup.manifest.stop.time).time);
  report.checks.push(targetCheck(report.target, stop));
  if (!end.reached) return;
  if (d.target.kind === 'latest') report.checks.push(archiveEndCheck(stop, plan.archiveEnd, plan.segmentSize));
  const t0 = Date.now();
  const server = { socketDir: d.scratch.dir, port };
  const user = await findSuperuser(server, [o.db?.includes('://') ? parseDbUrl(o.db, {}).user : '', o.osUser, 'postgres', 'root']);
  ctx.log.info('verify', `reading the recovered cluster as its superuser ${user}`);
  const verified = await verifyRecovered(server, {
    amcheck: o.amcheck, assertions: d.assertions, assertionDatabase: databaseNameOf(o.db) ?? 'postgres', statementTimeoutMs: o.statementTimeout, log: ctx.log, signal: ctx.signal,
  });
  report.checks.push(...verified.checks);
  report.integrity = { databases: verified.integrity.databases, tables: verified.integrity.tables, rows: verified.integrity.rows };
  dur.checksMs = Date.now() - t0;
}

function result(ctx: TaskContext<'drill'>, r: PitrDrillReport): TaskResult {
  const text = renderText(r);
  (r.result === 'pass' ? ctx.log.info : ctx.log.error)('done', text.split('\n')[0], { drillId: r.drillId, backupId: r.backupId, result: r.result });
  // RTO and RPO are every drill's metrics (lib/notify/metric-list.ts: pgops_drill_rto_seconds, _rpo_seconds)
  const gauges: TaskResult['gauges'] = r.integrity ? { drill_pitr_rows_read: { help: 'rows the integrity read went through', value: r.integrity.rows } } : {};
  return { exitCode: r.result === 'pass' ? ExitCode.OK : ExitCode.FAILED, summary: text, data: r, gauges };
}
