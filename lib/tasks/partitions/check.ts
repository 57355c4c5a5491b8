import { CHECK_TIMEOUT_MS, checkWithin } from '../../check/deadline.ts';
import { checkResult } from '../../check/result.ts';
import { endSessionOnAbort } from '../../check/end-session.ts';
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
  return checkWithin('PARTITIONS', ctx, ctx.options.timeout ?? CHECK_TIMEOUT_MS, (deadline) =>
    withPartitions(
      ctx,
      'partitions-check',
      // at the timeout the session is ended from a second connection: closing ours would leave its query running
      (run) => endSessionOnAbort(run.s.info, run.s.client, deadline.signal, ctx.log, async () => {
        const checks: TableCheck[] = [];
        for (const t of run.tables) {
          deadline.signal.throwIfAborted();
          const name = displayName(t.schema, t.name);
          try {
            const table = await readTable(run.s.client, t.schema, t.name, run.zone);
            const { interval } = intervalFor(table, ctx.options.interval);
            checks.push(gradeTable(name, interval, table.partitions, run.now, ahead));
          } catch (err) {
            if (deadline.signal.aborted) throw err;
            checks.push(unreadableTable(name, messageOf(err)));
          }
        }
        const { level, line, runbook } = partitionsLine(checks, ahead);
        return checkResult(level, line, { now: wallClock(run.now.getTime(), true), timezone: run.zone, ahead, tables: checks }, { runbook });
      }),
      true,
    ), { tables: [] });
};
