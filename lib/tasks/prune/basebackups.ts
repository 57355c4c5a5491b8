import type { Logger } from '../../log.ts';
import { listBaseBackups, type BaseBackup } from '../../repo/basebackups.ts';
import type { Repo } from '../../repo/repo.ts';
import { planRetention, type RetentionDecision, type RetentionRules } from './plan.ts';
import { warnKeptForInspection, type Prunable } from './prunable.ts';
import { liveWriters } from './writers.ts';

// The plan for the base backups of every system, by the same rules as the logical sets, each system on its own:
// the newest complete one is never deleted, a pin that holds keeps one, an incomplete one goes after the grace
// unless a running basebackup's lease holds it. Base backups belong to a cluster, not a database, so --db does not
// narrow them. Grouped by system, newest first.
export async function planBaseBackups(repo: Repo, rules: RetentionRules, now: Date, log: Logger): Promise<{ backups: BaseBackup[]; decisions: RetentionDecision<BaseBackup>[]; inspect: Prunable[] }> {
  const backups = await listBaseBackups(repo);
  if (backups.length === 0) return { backups, decisions: [], inspect: [] };
  const inspect = warnKeptForInspection(backups, log);
  const writers = await liveWriters(repo, backups, now, log);
  const decisions = planRetention(backups, { ...rules, protect: undefined, writers }, now).sort(
    (a, b) => a.set.systemIdentifier.localeCompare(b.set.systemIdentifier) || b.set.time.getTime() - a.set.time.getTime(),
  );
  return { backups, decisions, inspect };
}
