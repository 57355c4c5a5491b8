import { CHECK_TIMEOUT_MS, checkWithin } from '../../check/deadline.ts';
import { requireRepository } from '../../check/repository.ts';
import { checkResult } from '../../check/result.ts';
import { databaseNameOf } from '../../pg/database-name.ts';
import { listBaseBackups, type BaseBackup } from '../../repo/basebackups.ts';
import { listDrillReports, type DrillReport } from '../../repo/drill-reports.ts';
import { listPitrDrillReports, type PitrDrillReport } from '../../repo/pitr-drill-reports.ts';
import { openRepo } from '../../repo/open.ts';
import type { Repo } from '../../repo/repo.ts';
import { listSets, type BackupSet } from '../../repo/sets.ts';
import type { TaskHandler } from '../../task.ts';
import { evaluate, evaluateSystem, statusOfAll, type DatabaseFacts, type SystemFacts, type SystemStatus, type Thresholds } from './evaluate.ts';

// What status knows of one database, from the repository's sets (newest first) and drill reports (newest first).
function databaseFacts(database: string, sets: readonly BackupSet[], reports: readonly DrillReport[]): DatabaseFacts {
  const complete = sets.filter((s) => s.database === database && s.complete);
  const damaged = sets.filter((s) => s.database === database && s.status === 'damaged');
  const drills = reports.filter((r) => r.database === database);
  const passing = drills.find((r) => r.result === 'pass');
  return {
    database,
    completeBackups: complete.length,
    damagedBackups: damaged.map((s) => ({ id: s.id, problem: s.problem! })),
    newestBackup: complete[0] && { id: complete[0].id, time: new Date(complete[0].manifest!.snapshot.time) },
    newestPassingDrill: passing && { drillId: passing.drillId, backupId: passing.backupId, time: new Date(passing.finishedAt) },
    newestDrill: drills[0] && { drillId: drills[0].drillId, backupId: drills[0].backupId, time: new Date(drills[0].finishedAt), result: drills[0].result },
  };
}

// What status knows of one database system, from its base backups and point-in-time drill reports (newest first).
function systemFacts(systemIdentifier: string, backups: readonly BaseBackup[], reports: readonly PitrDrillReport[]): SystemFacts {
  const mine = backups.filter((b) => b.systemIdentifier === systemIdentifier);
  const complete = mine.find((b) => b.complete);
  const drills = reports.filter((r) => r.systemIdentifier === systemIdentifier);
  const passing = drills.find((r) => r.result === 'pass');
  return {
    systemIdentifier,
    // the moment its data is from: where the backup became consistent
    newestBaseBackup: complete && { id: complete.id, time: new Date(complete.manifest!.stop.time ?? complete.time) },
    damagedBaseBackups: mine.filter((b) => b.status === 'damaged').map((b) => ({ id: b.id, problem: b.problem! })),
    newestPassingPitrDrill: passing && { drillId: passing.drillId, backupId: passing.backupId, time: new Date(passing.finishedAt) },
    newestPitrDrill: drills[0] && { drillId: drills[0].drillId, backupId: drills[0].backupId, time: new Date(drills[0].finishedAt), result: drills[0].result },
  };
}

// The physical side, graded per database system when the repository holds base backups; nothing otherwise, so a
// repository of logical backups alone reads as it always did. With --db, only the systems its sets came from.
async function systemStatuses(repo: Repo, sets: readonly BackupSet[], only: string | undefined, t: Thresholds, now: Date): Promise<SystemStatus[]> {
  const backups = await listBaseBackups(repo);
  if (backups.length === 0) return [];
  const reports = await listPitrDrillReports(repo);
  let systems = [...new Set([...backups.map((b) => b.systemIdentifier), ...reports.map((r) => r.systemIdentifier)])].sort();
  if (only !== undefined) {
    const ofDatabase = new Set(sets.map((s) => s.manifest?.server.systemIdentifier).filter((id): id is string => !!id));
    systems = systems.filter((id) => ofDatabase.has(id));
  }
  return systems.map((id) => evaluateSystem(systemFacts(id, backups, reports), t, now));
}

// pgops status: what a monitor polls to notice that scheduled backups or drills stopped running or failing.
export const status: TaskHandler<'status'> = async (ctx) => {
  const o = ctx.options;
  const t: Thresholds = {
    backupWarnMs: o.maxBackupAge,
    backupCritMs: o.criticalBackupAge ?? 2 * o.maxBackupAge,
    drillWarnMs: o.maxDrillAge,
    drillCritMs: o.criticalDrillAge ?? 2 * o.maxDrillAge,
    basebackupWarnMs: o.maxBasebackupAge,
    basebackupCritMs: o.criticalBasebackupAge ?? 2 * o.maxBasebackupAge,
    pitrDrillWarnMs: o.maxPitrDrillAge,
    pitrDrillCritMs: o.criticalPitrDrillAge ?? 2 * o.maxPitrDrillAge,
  };
  // the repository's reads take no signal: at the timeout the check answers, and the process ends what is in flight
  return checkWithin('STATUS', ctx, o.timeout ?? CHECK_TIMEOUT_MS, async () => {
    const repo = await openRepo(o.repo, o, ctx.log);
    try {
      const only = databaseNameOf(o.db);
      const sets = (await listSets(repo, only)).filter((s) => only === undefined || s.database === only);
      const reports = await listDrillReports(repo, only);
      const names = only ? [only] : [...new Set([...sets.map((s) => s.database), ...reports.map((r) => r.database)])].sort();
      const now = ctx.now();
      const statuses = names.map((database) => evaluate(databaseFacts(database, sets, reports), t, now));
      const systems = await systemStatuses(repo, sets, only, t, now);
      if (sets.length === 0 && reports.length === 0 && systems.length === 0) await requireRepository(repo);
      // an empty repository is CRITICAL; one of base backups alone is graded on those
      if (names.length === 0 && systems.length === 0) statuses.push(evaluate({ database: only ?? '(repository)', completeBackups: 0, damagedBackups: [] }, t, now));
      const { level, line, runbook } = statusOfAll(statuses, t, systems);
      const { basebackupWarnMs, basebackupCritMs, pitrDrillWarnMs, pitrDrillCritMs, ...logical } = t;
      const data = systems.length ? { databases: statuses, systems, thresholds: t } : { databases: statuses, thresholds: logical };
      return checkResult(level, line, data, { runbook });
    } finally {
      await repo.close();
    }
  }, { databases: [] });
};
