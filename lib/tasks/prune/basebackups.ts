import type { Logger } from '../../log.ts';
import { listBaseBackups, type BaseBackup } from '../../repo/basebackups.ts';
import { listPitrDrillReports, pitrVerifiedBackupIds } from '../../repo/pitr-drill-reports.ts';
import type { Repo } from '../../repo/repo.ts';
import { planRetention, setKey, type RetentionDecision, type RetentionRules } from './plan.ts';
import { warnKeptForInspection, type Prunable } from './prunable.ts';
import { liveWriters } from './writers.ts';

// The plan for the base backups of every system, by the same rules as the logical sets, each system on its own:
// the newest complete one is never deleted, nor the newest a point-in-time drill proved, a pin that holds keeps one, an incomplete one goes after the grace
// unless a running basebackup's lease holds it. Base backups belong to a cluster, not a database, so --db does not
// narrow them. Grouped by system, newest first.
export async function planBaseBackups(repo: Repo, rules: RetentionRules, now: Date, log: Logger): Promise<{ backups: BaseBackup[]; decisions: RetentionDecision<BaseBackup>[]; inspect: Prunable[] }> {
  const backups = await listBaseBackups(repo);
  if (backups.length === 0) return { backups, decisions: [], inspect: [] };
  const inspect = warnKeptForInspection(backups, log);
  const writers = await liveWriters(repo, backups, now, log);
  // the newest base backup a point-in-time drill proved is kept whatever the rules say, as the newest drill-verified
  // logical set is: it is the one on-call recovers from first
  const reports = await listPitrDrillReports(repo);
  const protect = new Map<string, string>();
  for (const system of new Set(backups.map((b) => b.systemIdentifier))) {
    const verified = new Set(pitrVerifiedBackupIds(reports, system));
    const newest = backups.find((b) => b.systemIdentifier === system && b.complete && verified.has(b.id));
    if (newest) protect.set(setKey(newest), 'newest PITR-drill-verified');
  }
  const decisions = planRetention(backups, { ...rules, protect, writers }, now).sort(
    (a, b) => a.set.systemIdentifier.localeCompare(b.set.systemIdentifier) || b.set.time.getTime() - a.set.time.getTime(),
  );
  return { backups, decisions, inspect };
}
