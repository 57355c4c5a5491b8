import { pinState } from '../../repo/pin.ts';
import type { SetStatus } from '../../repo/sets.ts';
import { dayKey, isoWeekKey, monthKey } from './calendar.ts';

// What the planner needs to know of a backup set: a logical set (lib/repo/sets.ts) or a base backup
// (lib/repo/basebackups.ts) is one as it is. The rules apply to each group on its own: a logical set's database, a
// base backup's system.
export interface RetentionSet {
  /** a logical set's database */
  database?: string;
  /** a base backup's system (a set has a database or a system, never both) */
  systemIdentifier?: string;
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
  /** --label and --pin: a pin that holds keeps the set whatever the rules say */
  manifest?: { label?: string; pinnedUntil?: string };
}

// The group a set's rules are counted in: its database, or its system.
export function retentionGroup(s: Pick<RetentionSet, 'database' | 'systemIdentifier'>): string {
  return s.database !== undefined ? `database ${s.database}` : `system ${s.systemIdentifier}`;
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

// A set's key in RetentionRules.protect and writers: backup ids are unique per database (or system) only.
export function setKey(s: Pick<RetentionSet, 'database' | 'systemIdentifier' | 'id'>): string {
  return JSON.stringify([retentionGroup(s), s.id]);
}

export type RetentionAction = 'keep' | 'delete';

// The planner's verdict on one set, with every reason behind it.
export interface RetentionDecision<S extends RetentionSet = RetentionSet> {
  set: S;
  action: RetentionAction;
  reasons: string[];
  /** object lock keeps a set the rules would delete (keepLocked) */
  lock?: LockHold;
}

// What object lock holds a set (or a WAL file) with: a retention until a moment (ISO 8601), or a legal hold, which
// lasts until a person releases it.
export interface LockHold {
  until?: string;
  legalHold?: boolean;
}

// A hold as the plan shows it: "locked until 2026-12-22T03:17:01Z", "under a legal hold".
export function holdText(hold: LockHold): string {
  if (hold.legalHold) return 'under a legal hold';
  return `locked until ${holdTime(hold.until ?? '')}`;
}

// The end of a retention as people read it, rounded up to the second (before it, the version is still locked).
export function holdTime(until: string): string {
  const t = Date.parse(until);
  return Number.isNaN(t) ? until : new Date(Math.ceil(t / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// The decisions with object lock applied: a set the rules would delete that holds is kept, its reason saying until
// when and what the rules said. Locks are by setKey; sets the rules keep are as they were.
export function keepLocked<S extends RetentionSet>(decisions: readonly RetentionDecision<S>[], locks: ReadonlyMap<string, LockHold>): RetentionDecision<S>[] {
  return decisions.map((d) => {
    const hold = d.action === 'delete' ? locks.get(setKey(d.set)) : undefined;
    return hold ? { set: d.set, action: 'keep', reasons: [`${holdText(hold)} (${d.reasons.join('; ')})`], lock: hold } : d;
  });
}

// The earliest moment a held set (or WAL file) becomes deletable, of all the holds with an end; undefined without one.
export function nextDeletable(holds: Iterable<LockHold | undefined>): string | undefined {
  let next: string | undefined;
  for (const h of holds) {
    if (!h?.until || h.legalHold) continue;
    if (next === undefined || Date.parse(h.until) < Date.parse(next)) next = h.until;
  }
  return next === undefined ? undefined : holdTime(next);
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

// Decides, per database (or system), which sets to keep and which to delete; one decision per set, in the order
// given. Pinned sets count toward the rules like any other; their pin only adds a reason to keep them.
export function planRetention<S extends RetentionSet>(sets: readonly S[], rules: RetentionRules, now: Date): RetentionDecision<S>[] {
  const keep = new Map<S, string[]>();
  const add = (set: S, reason: string) => keep.set(set, [...(keep.get(set) ?? []), reason]);

  for (const group of new Set(sets.map(retentionGroup))) {
    const complete = sets
      .filter((s) => retentionGroup(s) === group && s.complete)
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
    // Whatever the rules say, a database (or system) never loses its last good backup.
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
    const pin = pinState(set.manifest?.pinnedUntil, now);
    const label = set.manifest?.label === undefined ? '' : ` (${set.manifest.label})`;
    if (pin.state === 'holds') reasons.push(`pinned until ${pin.until}${label}`);
    // a writer meant to pin it, and prune cannot tell until when: kept for a person to look at
    else if (pin.state === 'unreadable') reasons.push(`pinned until ${JSON.stringify(pin.until)}, which is no time: kept${label}`);
    else if (pin.state === 'expired') deleteReason += `; pin expired at ${pin.until}${label}`;
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
