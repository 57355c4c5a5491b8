import { describe, expect, it } from 'vitest';
import { gradeTable } from '../../lib/tasks/partitions/check-evaluate.ts';
import { parseRangeBound } from '../../lib/tasks/partitions/catalog.ts';
import {
  addPeriods, coverage, futureCovered, inferInterval, intervalOf, isoWeek, period, periodLabel, periodStart, periodsToHave, pruneCutoff, pruneSelection, type Range,
} from '../../lib/tasks/partitions/periods.ts';

const d = (s: string) => new Date(`${s}T00:00:00Z`);
const r = (from: string, to: string): Range => ({ from: d(from).getTime(), to: d(to).getTime() });
const starts = (ps: { start: Date }[]) => ps.map((p) => p.start.toISOString().slice(0, 10));

describe('partition periods', () => {
  it('start at midnight, on Monday, on the 1st and on 1 January', () => {
    const t = new Date('2026-12-31T23:59:59Z'); // a Thursday
    expect(periodStart(t, 'day')).toEqual(d('2026-12-31'));
    expect(periodStart(t, 'week')).toEqual(d('2026-12-28'));
    expect(periodStart(new Date('2027-01-03T12:00:00Z'), 'week')).toEqual(d('2026-12-28')); // a Sunday belongs to the week before
    expect(periodStart(t, 'month')).toEqual(d('2026-12-01'));
    expect(periodStart(t, 'year')).toEqual(d('2026-01-01'));
  });

  it('step across a year boundary, months of every length and a leap day', () => {
    expect(addPeriods(d('2026-12-01'), 'month', 1)).toEqual(d('2027-01-01'));
    expect(addPeriods(d('2027-01-01'), 'month', -1)).toEqual(d('2026-12-01'));
    expect(addPeriods(d('2026-12-31'), 'day', 1)).toEqual(d('2027-01-01'));
    expect(addPeriods(d('2028-02-28'), 'day', 1)).toEqual(d('2028-02-29'));
    expect(addPeriods(d('2026-12-28'), 'week', 1)).toEqual(d('2027-01-04'));
    expect(addPeriods(d('2026-01-01'), 'year', 2)).toEqual(d('2028-01-01'));
  });

  it('plan the current month and three ahead across the new year', () => {
    expect(starts(periodsToHave(new Date('2026-11-20T10:00:00Z'), 'month', 3))).toEqual(['2026-11-01', '2026-12-01', '2027-01-01', '2027-02-01']);
  });

  it('plan the current day and three ahead across the new year', () => {
    const ps = periodsToHave(new Date('2026-12-30T22:00:00Z'), 'day', 3);
    expect(starts(ps)).toEqual(['2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02']);
    expect(ps[3].to).toBe(d('2027-01-03').getTime());
  });

  it('infer the interval from the newest partition with finite bounds', () => {
    expect(inferInterval([r('2026-10-01', '2026-11-01'), r('2026-11-01', '2026-12-01')])).toMatchObject({ interval: 'month', others: 0 });
    expect(inferInterval([r('2026-12-30', '2026-12-31'), r('2026-12-31', '2027-01-01')]).interval).toBe('day');
    expect(inferInterval([r('2026-12-28', '2027-01-04')]).interval).toBe('week');
    expect(inferInterval([r('2026-01-01', '2027-01-01')]).interval).toBe('year');
    // a table that moved from monthly to daily partitions: the newest decides, the older ones are counted
    expect(inferInterval([r('2026-11-01', '2026-12-01'), r('2026-12-01', '2026-12-02')])).toMatchObject({ interval: 'day', others: 1 });
    // a MINVALUE catch-all does not count; a quarter is no interval
    expect(inferInterval([{ from: -Infinity, to: d('2026-01-01').getTime() }, r('2026-01-01', '2026-02-01')]).interval).toBe('month');
    expect(inferInterval([r('2026-01-01', '2026-04-01')]).interval).toBeUndefined();
    expect(inferInterval([]).newest).toBeUndefined();
    // a week that does not start on Monday is not a week
    expect(intervalOf(r('2026-12-27', '2027-01-03'))).toBeUndefined();
  });

  it('tell covered, partly covered and free periods apart', () => {
    const jan = period(d('2027-01-01'), 'month');
    expect(coverage(jan, [r('2027-01-01', '2027-02-01')])).toBe('covered');
    expect(coverage(jan, [r('2027-01-01', '2027-01-16'), r('2027-01-16', '2027-02-01')])).toBe('covered');
    expect(coverage(jan, [r('2026-12-01', '2027-04-01')])).toBe('covered');
    expect(coverage(jan, [r('2027-01-01', '2027-01-16')])).toBe('partial');
    expect(coverage(jan, [r('2026-12-15', '2027-01-15'), r('2027-01-20', '2027-03-01')])).toBe('partial');
    expect(coverage(jan, [r('2026-12-01', '2027-01-01'), r('2027-02-01', '2027-03-01')])).toBe('free');
  });

  it('count future periods covered without a gap', () => {
    const now = new Date('2026-12-15T00:00:00Z');
    const ranges = [r('2026-12-01', '2027-01-01'), r('2027-01-01', '2027-02-01'), r('2027-03-01', '2027-04-01')];
    expect(futureCovered(now, 'month', ranges, 3)).toBe(1);
    expect(futureCovered(now, 'month', [...ranges, r('2027-02-01', '2027-03-01')], 3)).toBe(3);
  });

  it('grade a table: CRITICAL without the current period, WARNING with too few ahead', () => {
    const now = new Date('2026-12-15T00:00:00Z');
    const full = [r('2026-12-01', '2027-01-01'), r('2027-01-01', '2027-02-01'), r('2027-02-01', '2027-03-01'), r('2027-03-01', '2027-04-01')];
    expect(gradeTable('t', 'month', full, now, 3)).toMatchObject({ level: 0, futurePeriods: 3, currentCovered: true });
    expect(gradeTable('t', 'month', full.slice(0, 3), now, 3)).toMatchObject({ level: 1, futurePeriods: 2, message: 't: 2 of 3 future months have partitions (2027-03 has none)' });
    expect(gradeTable('t', 'month', full.slice(1), now, 3)).toMatchObject({ level: 2, currentCovered: false, message: 't: the current month 2026-12 has no partition' });
  });

  it('prune what ends before the kept periods, oldest first, never the newest', () => {
    const now = new Date('2026-12-15T00:00:00Z');
    expect(pruneCutoff(now, 'month', 3)).toEqual(d('2026-09-01'));
    const months = Array.from({ length: 12 }, (_, i) => ({ name: `p${i + 1}`, ...period(d(`2026-${String(i + 1).padStart(2, '0')}-01`), 'month') }));
    const sel = pruneSelection([...months].reverse(), pruneCutoff(now, 'month', 3));
    expect(sel.prune.map((p) => p.name)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8']);
    expect(sel.newest?.name).toBe('p12');
    // all partitions old: everything but the newest
    const old = months.slice(0, 3);
    expect(pruneSelection(old, pruneCutoff(now, 'month', 1)).prune.map((p) => p.name)).toEqual(['p1', 'p2']);
    // a MAXVALUE partition is never pruned and is the newest
    const open = [...old, { name: 'rest', from: d('2026-04-01').getTime(), to: Infinity }];
    expect(pruneSelection(open, pruneCutoff(now, 'month', 1)).prune.map((p) => p.name)).toEqual(['p1', 'p2', 'p3']);
  });

  it('label periods and ISO weeks across the year boundary', () => {
    expect(isoWeek(d('2026-12-28'))).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(d('2027-01-04'))).toEqual({ year: 2027, week: 1 });
    expect(isoWeek(d('2024-12-30'))).toEqual({ year: 2025, week: 1 });
    expect(periodLabel(d('2024-12-30'), 'week')).toBe('2025-W01');
    expect(periodLabel(d('2027-01-01'), 'month')).toBe('2027-01');
    expect(periodLabel(d('2027-01-01'), 'day')).toBe('2027-01-01');
  });

  it('read partition bounds as PostgreSQL prints them', () => {
    expect(parseRangeBound("FOR VALUES FROM ('2027-01-01 00:00:00+00') TO ('2027-02-01 00:00:00+00')")).toEqual({ from: '2027-01-01 00:00:00+00', to: '2027-02-01 00:00:00+00' });
    expect(parseRangeBound("FOR VALUES FROM (MINVALUE) TO ('2026-01-01')")).toEqual({ from: 'MINVALUE', to: '2026-01-01' });
    expect(parseRangeBound('DEFAULT')).toBeUndefined();
    expect(parseRangeBound("FOR VALUES IN ('a')")).toBeUndefined();
    expect(parseRangeBound("FOR VALUES FROM ('2026-01-01', 1) TO ('2026-02-01', 1)")).toBeUndefined();
  });
});
