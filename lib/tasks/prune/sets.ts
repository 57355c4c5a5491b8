import type { Logger } from '../../log.ts';
import { listDrillReports, verifiedBackupIds } from '../../repo/drill-reports.ts';
import type { Repo } from '../../repo/repo.ts';
import { listSets, type BackupSet } from '../../repo/sets.ts';
import { planRetention, setKey, type RetentionDecision, type RetentionRules } from './plan.ts';
import { warnKeptForInspection, type Prunable } from './prunable.ts';
import { liveWriters } from './writers.ts';

// The plan for the logical sets of every database (or the one --db names), grouped by database, newest first.
export async function planSets(repo: Repo, database: string | undefined, rules: RetentionRules, now: Date, log: Logger): Promise<{ decisions: RetentionDecision<BackupSet>[]; inspect: Prunable[] }> {
  const sets = (await listSets(repo, database)).filter((s) => database === undefined || s.database === database);
  if (sets.length === 0) return { decisions: [], inspect: [] };
  const inspect = warnKeptForInspection(sets, log);
  // the newest backup a restore drill proved is kept whatever the rules say: it is the one on-call restores first
  const reports = await listDrillReports(repo, database);
  const protect = new Map<string, string>();
  for (const db of new Set(sets.map((s) => s.database))) {
    const verified = new Set(verifiedBackupIds(reports, db));
    const newest = sets.filter((s) => s.database === db && s.complete && verified.has(s.id)).sort((a, b) => b.time.getTime() - a.time.getTime())[0];
    if (newest) protect.set(setKey(newest), 'newest drill-verified');
  }
  // a set a running backup is still writing is never deleted, whatever the grace
  const writers = await liveWriters(repo, sets, now, log);
  const decisions = planRetention(sets, { ...rules, protect, writers }, now).sort(
    (a, b) => a.set.database.localeCompare(b.set.database) || b.set.time.getTime() - a.set.time.getTime(),
  );
  return { decisions, inspect };
}
