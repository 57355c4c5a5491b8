import path from 'node:path';
import { ExitCode, usageError } from '../../errors.ts';
import { byteProgress } from '../../progress.ts';
import { openRepo } from '../../repo/open.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { layDown, type LaidDown } from './lay-down.ts';
import { checkUserCanRun, osUserIds, runningAsRoot } from './os-user.ts';
import { checkPgdata } from './pgdata.ts';
import { planRecovery, type RecoveryPlan } from './plan.ts';
import { planLines, recoveredSummary, startCommand } from './render.ts';
import { pgopsBin, restoreCommandFor, withResolvedRegion } from './restore-command.ts';
import { runRecovery, type RecoveryEnd } from './server.ts';
import { spoolFolder } from './spool.ts';
import { describeTarget, recoverySettings, targetFromOptions, type RecoveryTarget } from './target.ts';
import { majorOf, serverBinDir } from './tools.ts';

// What drill --pitr builds on: the same plan, lay-down and server.
export { planRecovery, type RecoveryPlan, type ArchiveEnd } from './plan.ts';
export { layDown, type LaidDown } from './lay-down.ts';
export { restoreCommandFor, withResolvedRegion } from './restore-command.ts';
export { runRecovery, stopServer, serverRunning, type RecoveryEnd } from './server.ts';
export { targetFromOptions, describeTarget, recoverySettings, type RecoveryTarget } from './target.ts';

// pgops recover: plan (the base backup before the target, the archive's end and continuity), check every file, lay
// the backup down into a new data directory with restore_command and the target, and with --start replay to it.
export const recover: TaskHandler<'recover'> = async (ctx) => {
  const { options: o, log } = ctx;
  const target = prepareTarget(ctx);
  if (!o.pgdata) throw usageError('no data directory given', 'pass --pgdata DIR: a new folder (it is created) or an empty one, where the base backup is laid down');
  const pgdata = path.resolve(o.pgdata);
  if (o.start && o.port === undefined) throw usageError('--start needs --port', 'pass the port the recovered server listens on (one that no other server uses): --start --port 5433');
  checkPgdata(pgdata);

  const repo = await openRepo(o.repo, o, log, { reads: true });
  try {
    const plan = await planRecovery(repo, { systemId: o.systemId, backup: o.backup }, target);
    const binDir = await serverBinDir(majorOf(plan.backup.manifest.server.versionNum), o.pgBin);
    if (runningAsRoot()) {
      await osUserIds(o.osUser);
      await checkUserCanRun(o.osUser, { node: process.execPath, bin: pgopsBin() }, log);
    }
    for (const line of planLines(plan, pgdata)) log.info('plan', line);
    for (const w of plan.warnings) log.warn('gap', w);
    if (o.archiveMode === 'preserve' && (o.targetAction === 'promote' || target.kind === 'latest')) {
      log.warn('archive-mode', 'with --archive-mode preserve the recovered server archives as the backed-up one did: once promoted, its new timeline goes into the same WAL archive, and a later recovery of the original (recovery_target_timeline latest) would follow that timeline', {
        hint: 'for a copy (looking at old rows, a test), pass --archive-mode off; keep preserve only when the recovered server replaces the original',
      });
    }

    const settings = { ...recoverySettings(target, o.targetAction), ...(o.archiveMode === 'off' ? { archive_mode: 'off' } : {}) };
    const check = byteProgress(log, 'checking the base backup');
    const lay = byteProgress(log, 'laying down');
    const laid = await layDown(repo, plan, {
      pgdata,
      osUser: o.osUser,
      pgBin: binDir,
      // with --start pgops waits for the replay and fetches ahead into a spool; a server started by hand runs wal fetch
      restoreCommand: restoreCommandFor(repo.url, plan.systemIdentifier, await withResolvedRegion(repo, o), o.start ? spoolFolder(pgdata) : undefined),
      settings,
      signal: ctx.signal,
      log,
      now: ctx.now,
      onProgress: (n, phase) => (phase === 'check' ? check(n) : lay(n)),
    });
    if (laid.removedStandbySignal) log.info('standby', 'the base backup was taken from a standby: its standby.signal was removed, this is an archive recovery (recovery.signal), not a new standby');
    if (laid.wroteConfig.length) log.warn('config', `the backed-up cluster kept its configuration outside its data directory: wrote minimal ${laid.wroteConfig.join(', ')} into ${pgdata} (peer for local users, passwords over TCP)`, { hint: 'copy the settings the server needs (shared_buffers, extensions in shared_preload_libraries, ...) from the original configuration before opening it to clients' });
    const command = startCommand({ binDir, pgdata, osUser: o.osUser, port: o.port });

    if (!o.start) return laidDownResult(ctx, plan, pgdata, laid, command, repo.kind === 's3');
    const end = await runRecovery({
      pgdata,
      port: o.port!,
      osUser: o.osUser,
      pgBin: binDir,
      action: o.targetAction,
      target,
      timeoutMs: o.recoveryTimeout,
      signal: ctx.signal,
      env: ctx.env,
      log,
      spool: { repo, plan },
    });
    return recoveredResult(ctx, plan, pgdata, laid, end);
  } finally {
    await repo.close();
  }
};

// The target, and what cannot be asked of it.
function prepareTarget(ctx: TaskContext<'recover'>): RecoveryTarget {
  const o = ctx.options;
  const target = targetFromOptions(o);
  if (target.kind === 'time' && target.assumedUtc) ctx.log.warn('utc', `--target-time ${o.targetTime} has no time zone: UTC is assumed (${target.text})`, { hint: "write the zone to be sure: '2026-11-30 03:12:00+01'" });
  // PostgreSQL ignores recovery_target_action without a target: the end of the archive always promotes
  if (target.kind === 'latest' && o.targetAction !== 'promote') {
    throw usageError(`--target-action ${o.targetAction} needs a recovery target: at the end of the archive (--target latest) PostgreSQL always promotes`, 'name the target to stop at (--target-lsn, --target-time, --target immediate ...), or use --target-action promote');
  }
  return target;
}

function baseData(plan: RecoveryPlan, pgdata: string, laid: LaidDown) {
  const m = plan.backup.manifest;
  return {
    pgdata,
    systemIdentifier: plan.systemIdentifier,
    backup: { id: plan.backup.id, label: m.label ?? null, start: m.start, stop: m.stop, timeline: m.timeline, fromStandby: m.server.inRecovery },
    target: describeTarget(plan.target),
    archiveEnd: { ...plan.archiveEnd, archivedAt: plan.archiveEnd.archivedAt.toISOString() },
    gap: plan.gap ?? null,
    wal: plan.wal,
    laidDown: { bytes: laid.bytes, tarBytes: laid.tarBytes, files: laid.files, downloadMs: laid.downloadMs, layDownMs: laid.layDownMs, syncMs: laid.syncMs, verifyMs: laid.verifyMs, removedStandbySignal: laid.removedStandbySignal, wroteConfig: laid.wroteConfig },
  };
}

function gauges(laid: LaidDown, end?: RecoveryEnd): TaskResult['gauges'] {
  return {
    recover_laid_down_bytes: { help: 'bytes of the base backup laid down', value: laid.tarBytes },
    recover_lay_down_seconds: { help: 'download, check and lay-down of the base backup', value: (laid.downloadMs + laid.layDownMs + laid.verifyMs) / 1000 },
    ...(end ? { recover_replay_seconds: { help: 'replay up to the target', value: end.replayMs / 1000 } } : {}),
  };
}

// Laid down, not started: the plan's outcome and the command that starts the server.
function laidDownResult(ctx: TaskContext<'recover'>, plan: RecoveryPlan, pgdata: string, laid: LaidDown, command: string, s3: boolean): TaskResult {
  const credentials = s3 ? `; restore_command reads the repository with the S3 credentials of the server's environment: start it with AWS_SHARED_CREDENTIALS_FILE (or ~/.aws of ${runningAsRoot() ? ctx.options.osUser : 'this user'}) set` : '';
  const summary = `laid base backup ${plan.backup.id} down into ${pgdata} (${laid.files} files, ${formatSize(laid.tarBytes)}, checked and verified in ${formatDuration(laid.downloadMs + laid.layDownMs + laid.verifyMs)}), recovery to ${describeTarget(plan.target)} is set up; start the server with:\n  ${command}${credentials}`;
  return { exitCode: ExitCode.OK, summary, data: { ok: true, started: false, ...baseData(plan, pgdata, laid), startCommand: command, recovery: null }, gauges: gauges(laid) };
}

// Started and waited for: where replay stopped, exit 0 when the target was reached, 2 when not.
function recoveredResult(ctx: TaskContext<'recover'>, plan: RecoveryPlan, pgdata: string, laid: LaidDown, end: RecoveryEnd): TaskResult {
  const summary = recoveredSummary(plan, pgdata, end, ctx.options.port!);
  if (!end.reached) ctx.log.error('recovery', `recovery to ${describeTarget(plan.target)} failed: ${end.reason}`, { hint: `the data directory ${pgdata} stays for investigation (log: ${end.logFile}); fix the cause and start it again, or remove it and recover again` });
  return { exitCode: end.reached ? ExitCode.OK : ExitCode.FAILED, summary, data: { ok: end.reached, started: true, ...baseData(plan, pgdata, laid), recovery: end }, gauges: gauges(laid, end) };
}
