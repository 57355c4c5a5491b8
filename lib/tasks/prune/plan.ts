import type { SetStatus } from '../../repo/sets.ts';
import { dayKey, isoWeekKey, monthKey } from './calendar.ts';

// What the planner needs to know of a backup set.
export interface RetentionSet {
  database: string;
  id: string;
  /** the backup id's time */
  time: Date;
  /** only complete sets count toward the rules (true only when status is 'complete') */
  complete: boolean;
  /** unreadable and damaged sets are kept for a person to look at; incomplete ones go after the grace */
  status: SetStatus;
  /** what is wrong with a set that is not complete */
  problem?: string;
  size: number;
}

// Grandfather-father-son rules, as restic and borg define them.
export interface RetentionRules {
  /** keep the N newest complete sets */
  keepLast?: number;
  /** keep the newest complete set of each of the last N UTC days that have one */
  keepDaily: number;
  /** the same per ISO week (UTC) */
  keepWeekly: number;
  /** the same per calendar month (UTC) */
  keepMonthly: number;
  /** incomplete sets younger than this (ms) are kept: a backup may still be writing them */
  incompleteGrace: number;
  /** sets kept whatever the rules say, by setKey, with the reason to show (e.g. the newest drill-verified backup) */
  protect?: Map<string, string>;
  /** incomplete sets a backup is still writing (its lease holds, writers.ts), by setKey, with the reason: kept whatever the grace */
  writers?: Map<string, string>;
}

// A set's key in RetentionRules.protect: backup ids are unique per database only.
export function setKey(s: { database: string; id: string }): string {
  return JSON.stringify([s.database, s.id]);
}

export type RetentionAction = 'keep' | 'delete';

// The planner's verdict on one set, with every reason behind it.
export interface RetentionDecision<S extends RetentionSet = RetentionSet> {
  set: S;
  action: RetentionAction;
  reasons: string[];
}

const BUCKETS = [
  { rule: 'daily', count: (r: RetentionRules) => r.keepDaily, key: dayKey },
  { rule: 'weekly', count: (r: RetentionRules) => r.keepWeekly, key: isoWeekKey },
  { rule: 'monthly', count: (r: RetentionRules) => r.keepMonthly, key: monthKey },
] as const;

// True when at least one rule is given; with none, a plan keeps only the newest complete set of each database.
export function hasRules(rules: RetentionRules): boolean {
  return (rules.keepLast ?? 0) > 0 || rules.keepDaily > 0 || rules.keepWeekly > 0 || rules.keepMonthly > 0;
}

// Decides, per database, which sets to keep and which to delete; one decision per set, in the order given.
export function planRetention<S extends RetentionSet>(sets: readonly S[], rules: RetentionRules, now: Date): RetentionDecision<S>[] {
  const keep = new Map<S, string[]>();
  const add = (set: S, reason: string) => keep.set(set, [...(keep.get(set) ?? []), reason]);

  for (const database of new Set(sets.map((s) => s.database))) {
    const complete = sets
      .filter((s) => s.database === database && s.complete)
      .sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const last = rules.keepLast ?? 0;
    complete.slice(0, last).forEach((s, i) => add(s, `last ${i + 1}/${last}`));
    for (const bucket of BUCKETS) {
      // Newest first, so each bucket's first set is its newest, and buckets come in time order.
      let previous: string | undefined;
      let kept = 0;
      for (const s of complete) {
        if (kept >= bucket.count(rules)) break;
        const key = bucket.key(s.time);
        if (key === previous) continue;
        previous = key;
        kept++;
        add(s, `${bucket.rule} ${key}`);
      }
    }
    // Whatever the rules say, a database never loses its last good backup.
    if (complete.length > 0) add(complete[0], 'newest complete');
  }

  const grace = graceText(rules.incompleteGrace);
  return sets.map((set): RetentionDecision<S> => {
    const reasons = keep.get(set) ?? [];
    let deleteReason = 'no rule keeps it';
    // Something removed or changed files of a damaged set, or a newer pgops may have written an unreadable
    // manifest: deleting either would destroy the evidence a person needs.
    if (set.status === 'unreadable') reasons.push(`manifest unreadable, kept for inspection: ${set.problem ?? 'unreadable'}`);
    else if (set.status === 'damaged') reasons.push(`damaged, kept for inspection: ${set.problem ?? 'listed files are missing'}`);
    else if (!set.complete) {
      const writer = rules.writers?.get(setKey(set));
      if (writer !== undefined) reasons.push(writer);
      else if (now.getTime() - set.time.getTime() <= rules.incompleteGrace) reasons.push(`incomplete, younger than grace ${grace}`);
      else deleteReason = `incomplete, older than grace ${grace}`;
    }
    const protectedBy = rules.protect?.get(setKey(set));
    if (protectedBy !== undefined) reasons.push(protectedBy);
    return reasons.length > 0 ? { set, action: 'keep', reasons } : { set, action: 'delete', reasons: [deleteReason] };
  });
}

// A grace period in the unit it was most likely written in: 24h, 90m, 30s.
function graceText(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
