// The calendar of partition periods. Times here are wall-clock times of the configured time zone, held in a
// Date's UTC fields (2027-01-01T00:00Z means midnight of 1 January on that calendar), so no arithmetic here
// depends on the machine's zone; the server converts to and from real instants.
export type Interval = 'day' | 'week' | 'month' | 'year';
export const INTERVALS: readonly Interval[] = ['day', 'week', 'month', 'year'];

const DAY = 86_400_000;

// A half-open range [from, to) of wall-clock milliseconds; MINVALUE and MAXVALUE bounds are -Infinity and Infinity.
export interface Range {
  from: number;
  to: number;
}

// The start of the period that holds t: midnight, Monday midnight (ISO weeks), the 1st, or 1 January.
export function periodStart(t: Date, interval: Interval): Date {
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth();
  const d = t.getUTCDate();
  switch (interval) {
    case 'day':
      return new Date(Date.UTC(y, m, d));
    case 'week': {
      const midnight = Date.UTC(y, m, d);
      const sinceMonday = (t.getUTCDay() + 6) % 7;
      return new Date(midnight - sinceMonday * DAY);
    }
    case 'month':
      return new Date(Date.UTC(y, m, 1));
    case 'year':
      return new Date(Date.UTC(y, 0, 1));
  }
}

// The start of the period n periods after the one starting at `start` (n may be negative).
export function addPeriods(start: Date, interval: Interval, n: number): Date {
  const y = start.getUTCFullYear();
  const m = start.getUTCMonth();
  const d = start.getUTCDate();
  switch (interval) {
    case 'day':
      return new Date(Date.UTC(y, m, d + n));
    case 'week':
      return new Date(Date.UTC(y, m, d + 7 * n));
    case 'month':
      return new Date(Date.UTC(y, m + n, d));
    case 'year':
      return new Date(Date.UTC(y + n, m, d));
  }
}

// One period: its range and its start as a Date.
export interface Period extends Range {
  start: Date;
}

export function period(start: Date, interval: Interval): Period {
  return { start, from: start.getTime(), to: addPeriods(start, interval, 1).getTime() };
}

// The interval a range is exactly one aligned period of, or undefined (a quarter, MINVALUE, an odd bound).
export function intervalOf(r: Range): Interval | undefined {
  if (!Number.isFinite(r.from) || !Number.isFinite(r.to)) return undefined;
  const start = new Date(r.from);
  for (const interval of INTERVALS) {
    if (periodStart(start, interval).getTime() === r.from && addPeriods(start, interval, 1).getTime() === r.to) return interval;
  }
  return undefined;
}

// The interval of a table from its partitions: the newest partition with finite bounds decides; `others` counts
// older partitions of another width (a table that moved from monthly to daily partitions, say).
export function inferInterval(ranges: Range[]): { interval?: Interval; newest?: Range; others: number } {
  const finite = ranges.filter((r) => Number.isFinite(r.from) && Number.isFinite(r.to)).sort((a, b) => b.to - a.to);
  if (!finite.length) return { others: 0 };
  const interval = intervalOf(finite[0]);
  const others = interval ? finite.filter((r) => intervalOf(r) !== interval).length : 0;
  return { interval, newest: finite[0], others };
}

// The current period and the `ahead` periods after it.
export function periodsToHave(now: Date, interval: Interval, ahead: number): Period[] {
  const first = periodStart(now, interval);
  return Array.from({ length: ahead + 1 }, (_, i) => period(addPeriods(first, interval, i), interval));
}

// How the existing ranges cover a period: wholly (possibly by several), partly, or not at all.
export function coverage(p: Range, ranges: Range[]): 'covered' | 'partial' | 'free' {
  const overlapping = ranges.filter((r) => r.from < p.to && r.to > p.from).sort((a, b) => a.from - b.from);
  if (!overlapping.length) return 'free';
  let reached = p.from;
  for (const r of overlapping) {
    if (r.from > reached) return 'partial';
    reached = Math.max(reached, r.to);
    if (reached >= p.to) return 'covered';
  }
  return 'partial';
}

// How many periods right after the current one are covered without a gap, looking at most `limit` ahead.
export function futureCovered(now: Date, interval: Interval, ranges: Range[], limit: number): number {
  let n = 0;
  const current = periodStart(now, interval);
  while (n < limit && coverage(period(addPeriods(current, interval, n + 1), interval), ranges) === 'covered') n++;
  return n;
}

// Where pruning stops: partitions whose upper bound is at or before this are older than the current period and
// the `keep` periods before it.
export function pruneCutoff(now: Date, interval: Interval, keep: number): Date {
  return addPeriods(periodStart(now, interval), interval, -keep);
}

// The partitions to prune: upper bound at or before the cutoff, oldest first, never the newest partition.
export function pruneSelection<T extends Range>(partitions: T[], cutoff: Date): { prune: T[]; newest?: T } {
  const bounded = partitions.filter((p) => Number.isFinite(p.to));
  const newest = [...partitions].sort((a, b) => b.to - a.to)[0];
  const prune = bounded.filter((p) => p.to <= cutoff.getTime() && p !== newest).sort((a, b) => a.from - b.from);
  return { prune, newest };
}

// The ISO 8601 week-numbering year and week of a date.
export function isoWeek(t: Date): { year: number; week: number } {
  const thursday = new Date(periodStart(t, 'week').getTime() + 3 * DAY);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY)) + 1;
  return { year, week };
}

// A wall-clock time for messages and literals: 2027-01-01, or 2027-01-01 06:00:00 when not at midnight.
export function wallClock(ms: number, withTime = false): string {
  if (ms === -Infinity) return 'MINVALUE';
  if (ms === Infinity) return 'MAXVALUE';
  const iso = new Date(ms).toISOString();
  const date = iso.slice(0, 10);
  const time = iso.slice(11, 19);
  return withTime || time !== '00:00:00' ? `${date} ${time}` : date;
}

// A range for messages: [2027-01-01, 2027-02-01)
export function rangeText(r: Range): string {
  return `[${wallClock(r.from)}, ${wallClock(r.to)})`;
}

// A period for messages: 2027-01-31 (day), 2027-W05 (week), 2027-01 (month), 2027 (year).
export function periodLabel(start: Date, interval: Interval): string {
  const iso = start.toISOString();
  if (interval === 'day') return iso.slice(0, 10);
  if (interval === 'month') return iso.slice(0, 7);
  if (interval === 'year') return iso.slice(0, 4);
  const w = isoWeek(start);
  return `${w.year}-W${String(w.week).padStart(2, '0')}`;
}
