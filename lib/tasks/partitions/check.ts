import { checkResult, couldNotRun } from '../../check/result.ts';
import { messageOf } from '../../errors.ts';
import { displayName } from '../../pg/display-name.ts';
import type { TaskHandler } from '../../task.ts';
import { readTable } from './catalog.ts';
import { gradeTable, partitionsLine, unreadableTable, type TableCheck } from './check-evaluate.ts';
import { wallClock } from './periods.ts';
import { intervalFor, withPartitions } from './session.ts';

// pgops partitions check: a Nagios check a monitor polls; read-only, so it also runs on a standby.
export const partitionsCheck: TaskHandler<'partitions-check'> = async (ctx) => {
  const ahead = ctx.options.ahead;
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
            checks.push(unreadableTable(name, messageOf(err)));
          }
        }
        const { level, line } = partitionsLine(checks, ahead);
        return checkResult(level, line, { now: wallClock(run.now.getTime(), true), timezone: run.zone, ahead, tables: checks });
      },
      true,
    );
  } catch (err) {
    return couldNotRun('PARTITIONS', err, ctx.log, { tables: [] });
  }
};
