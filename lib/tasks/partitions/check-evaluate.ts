import { worstFirst, worstLevel, type Level } from '../../check/level.ts';
import { statusLine, type PerfDatum } from '../../check/output.ts';
import { runbookPages, type RunbookPage } from '../../check/runbook-pages.ts';
import { addPeriods, coverage, futureCovered, period, periodLabel, periodStart, type Interval, type Range } from './periods.ts';

// What check finds of a table, by kind: each names its runbook page (lib/check/runbook-pages.ts).
export const PARTITIONS_FINDINGS = [
  'current-missing', // the current period has no partition
  'future-missing', // fewer than --ahead future periods have one
  'covered', // the current and the next --ahead periods have partitions
  'unreadable', // the table cannot be graded (does not exist, not partitioned by time)
] as const;
export type PartitionsFindingKind = (typeof PARTITIONS_FINDINGS)[number];

// What check found for one table.
export interface TableCheck {
  table: string;
  level: Level;
  kind: PartitionsFindingKind;
  message: string;
  interval?: Interval;
  currentCovered?: boolean;
  futurePeriods?: number;
}

// Grades one table: CRITICAL when the current period has no partition, WARNING when fewer than `ahead` periods
// after it have partitions (counted without a gap: rows of a missing period go to the default partition or fail).
export function gradeTable(table: string, interval: Interval, ranges: Range[], now: Date, ahead: number): TableCheck {
  const current = period(periodStart(now, interval), interval);
  const currentCovered = coverage(current, ranges) === 'covered';
  const future = futureCovered(now, interval, ranges, ahead);
  const gap = periodLabel(addPeriods(current.start, interval, future + 1), interval);
  let level: Level = 0;
  let kind: PartitionsFindingKind = 'covered';
  let message: string;
  if (!currentCovered) {
    level = 2;
    kind = 'current-missing';
    message = `${table}: the current ${interval} ${periodLabel(current.start, interval)} has no partition`;
  } else if (future < ahead) {
    level = 1;
    kind = 'future-missing';
    message = `${table}: ${future} of ${ahead} future ${interval}s have partitions (${gap} has none)`;
  } else {
    message = `${table}: the current and the next ${ahead} ${interval}s have partitions`;
  }
  return { table, level, kind, message, interval, currentCovered, futurePeriods: future };
}

// A table check could not read (it does not exist, is not partitioned by time): UNKNOWN, with the reason.
export function unreadableTable(table: string, error: string): TableCheck {
  return { table, level: 3, kind: 'unreadable', message: `${table}: ${error}` };
}

// The overall level and the status line: every table's finding, worst first, and per graded table whether the
// current period is covered and how many future ones are; and the runbook pages of the worst.
export function partitionsLine(checks: readonly TableCheck[], ahead: number): { level: Level; line: string; runbook: RunbookPage[] } {
  const level = worstLevel(checks.map((c) => c.level));
  const perf: PerfDatum[] = checks.flatMap((c) =>
    c.futurePeriods === undefined
      ? []
      : [
          { label: `${c.table} current`, value: c.currentCovered ? 1 : 0, crit: '1:', min: 0, max: 1 },
          { label: `${c.table} future`, value: c.futurePeriods, warn: `${ahead}:`, min: 0 },
        ],
  );
  const ordered = worstFirst(checks);
  return { level, line: statusLine('PARTITIONS', level, ordered.map((c) => c.message).join('; '), perf), runbook: runbookPages('partitions-check', ordered) };
}
