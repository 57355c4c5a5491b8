import { ExitCode, usageError } from '../../errors.ts';
import { withMaintenance, type MaintenanceSession } from '../../pg/maintenance-session.ts';
import { displayName } from '../../pg/display-name.ts';
import { parseQualifiedName } from '../../pg/ident.ts';
import type { TaskContext, TaskResult } from '../../task.ts';
import { TableProblem, type PartitionedTable } from './catalog.ts';
import { inferInterval, type Interval } from './periods.ts';

// What every partitions task works with: the guarded session, the tables, the zone and "now" on its calendar.
export interface PartitionsRun {
  s: MaintenanceSession;
  tables: { schema: string; name: string }[];
  zone: string;
  /** ctx.now() as a wall-clock time of the zone (see periods.ts) */
  now: Date;
}

// The tables named by --table / partition-table: SCHEMA.TABLE, parts double-quoted as in SQL when needed.
export function tablesFrom(list: readonly string[] | undefined): { schema: string; name: string }[] {
  const items = list ?? [];
  if (!items.length) {
    throw usageError('no tables to manage', 'name them with --table SCHEMA.TABLE (repeatable), or list them under partition-table: in the target of pgops.config.yml');
  }
  return items.map((text) => {
    const t = parseQualifiedName(text);
    if (!t) throw usageError(`cannot read the table name ${JSON.stringify(text)}`, 'write SCHEMA.TABLE; double-quote a part that holds dots or quotes, doubling a quote inside: public."Ev""ents"');
    return t;
  });
}

// Opens the maintenance session of a partitions task, with the session's zone pinned to UTC (bounds print the same
// everywhere) and --partition-timezone checked.
export async function withPartitions(ctx: TaskContext<'partitions-create' | 'partitions-prune' | 'partitions-check'>, task: string, fn: (run: PartitionsRun) => Promise<TaskResult>, readOnly = false): Promise<TaskResult> {
  const tables = tablesFrom(ctx.options.partitionTable);
  const zone = ctx.options.partitionTimezone;
  return withMaintenance(
    ctx,
    task,
    async (s) => {
      await s.client.query(`SET TimeZone = 'UTC'`);
      await s.client.query(`SET DateStyle = 'ISO, YMD'`);
      let ms: number;
      try {
        const { rows } = await s.client.query<{ ms: string }>(`SELECT (extract(epoch FROM ($1::timestamptz AT TIME ZONE $2)) * 1000)::text AS ms`, [ctx.now().toISOString(), zone]);
        ms = Number(rows[0].ms);
      } catch (err) {
        throw usageError(`unknown time zone ${JSON.stringify(zone)} in --partition-timezone: ${(err as Error).message}`, 'use a name from pg_timezone_names, such as UTC or Europe/Berlin');
      }
      return fn({ s, tables, zone, now: new Date(ms) });
    },
    { readOnly },
  );
}

// The interval of a table: --interval, else inferred from its newest partition; notes say how it was decided.
export function intervalFor(table: PartitionedTable, given: Interval | undefined): { interval: Interval; how: string } {
  if (given !== undefined) return { interval: given, how: 'from --interval' };
  const inferred = inferInterval(table.partitions);
  const what = displayName(table.schema, table.name);
  if (!inferred.newest) {
    throw new TableProblem(`cannot infer the interval of ${what}: it has no partitions with bounds yet`, { code: ExitCode.UNKNOWN, hint: 'give --interval day, week, month or year (or interval: in the config target)' });
  }
  if (!inferred.interval) {
    const newest = table.partitions.find((p) => p.to === inferred.newest!.to)!;
    throw new TableProblem(`cannot infer the interval of ${what}: its newest partition ${newest.name} (${newest.bound}) is not one whole day, week, month or year`, {
      code: ExitCode.UNKNOWN,
      hint: 'give --interval day, week, month or year',
    });
  }
  const newest = table.partitions.find((p) => p.to === inferred.newest!.to)!;
  const others = inferred.others ? `; ${inferred.others} older partition(s) have another width` : '';
  return { interval: inferred.interval, how: `inferred from ${newest.name}${others}` };
}
