import { databaseNameOf, listSets } from '../../backup-set.ts';
import { listDrillReports } from '../../drill-report.ts';
import { PgopsError, messageOf, type ExitCodeValue } from '../../errors.ts';
import { openRepo } from '../../repo/open.ts';
import type { TaskHandler } from '../../task.ts';
import { evaluate, statusLine, type DatabaseFacts, type Thresholds } from './evaluate.ts';

// pgops status: what a monitor polls to notice that scheduled backups or drills stopped running or failing.
export const status: TaskHandler<'status'> = async (ctx) => {
  const o = ctx.options;
  const t: Thresholds = {
    backupWarnMs: o.maxBackupAge as number,
    backupCritMs: (o.criticalBackupAge as number | undefined) ?? 2 * (o.maxBackupAge as number),
    drillWarnMs: o.maxDrillAge as number,
    drillCritMs: (o.criticalDrillAge as number | undefined) ?? 2 * (o.maxDrillAge as number),
  };
  try {
    const repo = await openRepo(o.repo as string | undefined, o, ctx.log);
    try {
      const only = databaseNameOf(o.db);
      const sets = (await listSets(repo, only)).filter((s) => only === undefined || s.database === only);
      const reports = await listDrillReports(repo, only);
      const names = only ? [only] : [...new Set([...sets.map((s) => s.database), ...reports.map((r) => r.database)])].sort();
      const now = ctx.now();
      const statuses = names.map((database) => {
        const complete = sets.filter((s) => s.database === database && s.complete);
        const damaged = sets.filter((s) => s.database === database && s.status === 'damaged');
        const drills = reports.filter((r) => r.database === database);
        const passing = drills.find((r) => r.result === 'pass');
        const facts: DatabaseFacts = {
          database,
          completeBackups: complete.length,
          damagedBackups: damaged.map((s) => ({ id: s.id, problem: s.problem! })),
          newestBackup: complete[0] && { id: complete[0].id, time: new Date(complete[0].manifest!.snapshot.time) },
          newestPassingDrill: passing && { drillId: passing.drillId, backupId: passing.backupId, time: new Date(passing.finishedAt) },
          newestDrill: drills[0] && { drillId: drills[0].drillId, backupId: drills[0].backupId, time: new Date(drills[0].finishedAt), result: drills[0].result },
        };
        return evaluate(facts, t, now);
      });
      if (names.length === 0) statuses.push(evaluate({ database: only ?? '(repository)', completeBackups: 0, damagedBackups: [] }, t, now));
      const { level, line } = statusLine(statuses, t);
      return { exitCode: level as ExitCodeValue, summary: line, data: { status: ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'][level], exitCode: level, line, databases: statuses, thresholds: t } };
    } finally {
      await repo.close();
    }
  } catch (err) {
    // a monitor reads stdout: UNKNOWN must be a status line too
    const line = `PGOPS STATUS UNKNOWN - ${messageOf(err)}`;
    ctx.log.error('failed', messageOf(err), { hint: err instanceof PgopsError ? err.hint : undefined });
    return { exitCode: 3, summary: line, data: { status: 'UNKNOWN', exitCode: 3, line, databases: [] } };
  }
};
