import { PgopsError, messageOf, type ExitCodeValue } from '../../errors.ts';
import { statusLine, worstFirst, worstLevel, type Level, type PerfDatum } from '../../maintenance/nagios.ts';
import { displayName } from '../../maintenance/names.ts';
import type { TaskHandler } from '../../task.ts';
import { readTable } from './catalog.ts';
import { addPeriods, coverage, futureCovered, period, periodLabel, periodStart, wallClock, type Interval, type Range } from './periods.ts';
import { intervalFor, withPartitions } from './session.ts';

// What check found for one table.
export interface TableCheck {
  table: string;
  level: Level;
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
  let message: string;
  if (!currentCovered) {
    level = 2;
    message = `${table}: the current ${interval} ${periodLabel(current.start, interval)} has no partition`;
  } else if (future < ahead) {
    level = 1;
    message = `${table}: ${future} of ${ahead} future ${interval}s have partitions (${gap} has none)`;
  } else {
    message = `${table}: the current and the next ${ahead} ${interval}s have partitions`;
  }
  return { table, level, message, interval, currentCovered, futurePeriods: future };
}

// pgops partitions check: a Nagios check a monitor polls; read-only, so it also runs on a standby.
export const partitionsCheck: TaskHandler<'partitions-check'> = async (ctx) => {
  const ahead = ctx.options.ahead as number;
  try {
    return await withPartitions(
      ctx,
      'partitions-check',
      async (run) => {
        const checks: TableCheck[] = [];
        for (const t of run.tables) {
          const name = displayName(t.schema, t.name);
          try {
            const table = await readTable(run.s.client, t.schema, t.name, run.zone);
            const { interval } = intervalFor(table, ctx.options.interval);
            checks.push(gradeTable(name, interval, table.partitions, run.now, ahead));
          } catch (err) {
            checks.push({ table: name, level: 3, message: `${name}: ${messageOf(err)}` });
          }
        }
        const level = worstLevel(checks.map((c) => c.level));
        const perf: PerfDatum[] = checks.flatMap((c) =>
          c.futurePeriods === undefined
            ? []
            : [
                { label: `${c.table} current`, value: c.currentCovered ? 1 : 0, crit: '1:', min: 0, max: 1 },
                { label: `${c.table} future`, value: c.futurePeriods, warn: `${ahead}:`, min: 0 },
              ],
        );
        const line = statusLine('PARTITIONS', level, worstFirst(checks).map((c) => c.message).join('; '), perf);
        return {
          exitCode: level as ExitCodeValue,
          summary: line,
          data: { status: ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'][level], exitCode: level, line, now: wallClock(run.now.getTime(), true), timezone: run.zone, ahead, tables: checks },
        };
      },
      true,
    );
  } catch (err) {
    // a monitor reads stdout: UNKNOWN must be a status line too
    const line = statusLine('PARTITIONS', 3, messageOf(err), []);
    ctx.log.error('failed', messageOf(err), { hint: err instanceof PgopsError ? err.hint : undefined });
    return { exitCode: 3, summary: line, data: { status: 'UNKNOWN', exitCode: 3, line, tables: [] } };
  }
};
