import { checkResult, couldNotRun } from '../../check/result.ts';
import { databaseNameOf } from '../../pg/database-name.ts';
import { listDrillReports, type DrillReport } from '../../repo/drill-reports.ts';
import { openRepo } from '../../repo/open.ts';
import { listSets, type BackupSet } from '../../repo/sets.ts';
import type { TaskHandler } from '../../task.ts';
import { evaluate, statusOfAll, type DatabaseFacts, type Thresholds } from './evaluate.ts';

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

// pgops status: what a monitor polls to notice that scheduled backups or drills stopped running or failing.
export const status: TaskHandler<'status'> = async (ctx) => {
  const o = ctx.options;
  const t: Thresholds = {
    backupWarnMs: o.maxBackupAge,
    backupCritMs: o.criticalBackupAge ?? 2 * o.maxBackupAge,
    drillWarnMs: o.maxDrillAge,
    drillCritMs: o.criticalDrillAge ?? 2 * o.maxDrillAge,
  };
  try {
    const repo = await openRepo(o.repo, o, ctx.log);
    try {
      const only = databaseNameOf(o.db);
      const sets = (await listSets(repo, only)).filter((s) => only === undefined || s.database === only);
      const reports = await listDrillReports(repo, only);
      const names = only ? [only] : [...new Set([...sets.map((s) => s.database), ...reports.map((r) => r.database)])].sort();
      const now = ctx.now();
      const statuses = names.map((database) => evaluate(databaseFacts(database, sets, reports), t, now));
      if (names.length === 0) statuses.push(evaluate({ database: only ?? '(repository)', completeBackups: 0, damagedBackups: [] }, t, now));
      const { level, line } = statusOfAll(statuses, t);
      return checkResult(level, line, { databases: statuses, thresholds: t });
    } finally {
      await repo.close();
    }
  } catch (err) {
    return couldNotRun('STATUS', err, ctx.log, { databases: [] });
  }
};
