import { describe, expect, it } from 'vitest';
import { gradeTable, partitionsLine, unreadableTable } from '../../../../lib/tasks/partitions/check-evaluate.ts';
import type { Range } from '../../../../lib/tasks/partitions/periods.ts';

const d = (s: string) => new Date(`${s}T00:00:00Z`);
const r = (from: string, to: string): Range => ({ from: d(from).getTime(), to: d(to).getTime() });
const NOW = d('2026-12-15');
const MONTHS = [r('2026-12-01', '2027-01-01'), r('2027-01-01', '2027-02-01'), r('2027-02-01', '2027-03-01'), r('2027-03-01', '2027-04-01')];

describe('partitions check grading', () => {
  it('is OK when the current period and the next --ahead have partitions', () => {
    expect(gradeTable('public.t', 'month', MONTHS, NOW, 3)).toEqual({ table: 'public.t', level: 0, kind: 'covered', message: 'public.t: the current and the next 3 months have partitions', interval: 'month', currentCovered: true, futurePeriods: 3 });
  });

  it('warns when fewer future periods have partitions, naming the first without one', () => {
    expect(gradeTable('public.t', 'month', MONTHS.slice(0, 3), NOW, 3)).toMatchObject({ level: 1, kind: 'future-missing', futurePeriods: 2, message: 'public.t: 2 of 3 future months have partitions (2027-03 has none)' });
    // counted without a gap: a partition after a missing month does not count
    expect(gradeTable('public.t', 'month', [MONTHS[0], MONTHS[2], MONTHS[3]], NOW, 3)).toMatchObject({ level: 1, futurePeriods: 0, message: 'public.t: 0 of 3 future months have partitions (2027-01 has none)' });
  });

  it('is CRITICAL when the current period has no partition', () => {
    expect(gradeTable('public.t', 'month', MONTHS.slice(1), NOW, 3)).toMatchObject({ level: 2, kind: 'current-missing', currentCovered: false, message: 'public.t: the current month 2026-12 has no partition' });
  });

  it('writes the status line worst first, with the coverage of each graded table as perfdata', () => {
    const checks = [gradeTable('public.ok', 'month', MONTHS, NOW, 3), gradeTable('public.few', 'month', MONTHS.slice(0, 3), NOW, 3)];
    expect(partitionsLine(checks, 3)).toEqual({
      level: 1,
      line: "PGOPS PARTITIONS WARNING - public.few: 2 of 3 future months have partitions (2027-03 has none); public.ok: the current and the next 3 months have partitions | 'public.ok current'=1;;1:;0;1 'public.ok future'=3;3:;;0 'public.few current'=1;;1:;0;1 'public.few future'=2;3:;;0",
      runbook: ['runbooks/partition-missing.md'],
    });
    expect(partitionsLine([checks[0]], 3).runbook).toEqual([]);
  });

  it('lets CRITICAL win beside an UNKNOWN table, and WARNING beside an UNKNOWN table', () => {
    const missing = unreadableTable('public.nope', 'table public.nope does not exist');
    expect(missing).toEqual({ table: 'public.nope', level: 3, kind: 'unreadable', message: 'public.nope: table public.nope does not exist' });
    const critical = partitionsLine([missing, gradeTable('public.t', 'month', MONTHS.slice(1), NOW, 3)], 3);
    expect(critical).toMatchObject({ level: 2, runbook: ['runbooks/partition-missing.md'] });
    expect(critical.line).toMatch(/^PGOPS PARTITIONS CRITICAL - public\.t: the current month 2026-12 has no partition; public\.nope: table public\.nope does not exist \| 'public\.t current'=0;;1:;0;1 /);
    const warning = partitionsLine([missing, gradeTable('public.t', 'month', MONTHS.slice(0, 3), NOW, 3)], 3);
    expect(warning.level).toBe(1);
    expect(warning.line).toMatch(/^PGOPS PARTITIONS WARNING - public\.t: 2 of 3 future months have partitions \(2027-03 has none\); public\.nope: table/);
    // UNKNOWN names no page: the check could not look, and the error says what to fix
    expect(partitionsLine([missing, gradeTable('public.t', 'month', MONTHS, NOW, 3)], 3).runbook).toEqual([]);
    expect(partitionsLine([missing, gradeTable('public.t', 'month', MONTHS, NOW, 3)], 3).line).toMatch(/^PGOPS PARTITIONS UNKNOWN - public\.nope: table public\.nope does not exist; public\.t: the current/);
  });
});
