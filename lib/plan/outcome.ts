import { ExitCode, type ExitCodeValue } from '../errors.ts';
import { formatDuration } from '../units.ts';

// What became of one planned action of a maintenance task.
//   planned  dry run: would be done with --execute
//   done     done
//   skipped  not done on purpose (a cap, a build in progress, a blocking refresh refused): the user should look
//   failed   tried and failed (after its retries)
export type ActionStatus = 'planned' | 'done' | 'skipped' | 'failed';

// The exit code of a maintenance run from its actions: 2 when any failed, 1 when any was skipped, else 0.
export function exitCodeOf(statuses: readonly ActionStatus[]): ExitCodeValue {
  if (statuses.includes('failed')) return ExitCode.FAILED;
  if (statuses.includes('skipped')) return ExitCode.WARNING;
  return ExitCode.OK;
}

// "3 done, 1 failed, 2 skipped" (only the statuses that occur; "nothing to do" when empty).
export function countLine(statuses: readonly ActionStatus[]): string {
  if (statuses.length === 0) return 'nothing to do';
  const order: ActionStatus[] = ['planned', 'done', 'failed', 'skipped'];
  return order
    .map((s) => [s, statuses.filter((x) => x === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

// One action's result for a report's table: "done", "done (3 attempts)", "failed (2 attempts): <error>",
// "skipped: <note>"; `extra` follows a done or failed one (reindex: what a failed build left behind).
export function outcomeText(item: { status: ActionStatus; attempts?: number; error?: string; note?: string }, extra = ''): string {
  const tries = item.attempts !== undefined && item.attempts > 1 ? ` (${item.attempts} attempts)` : '';
  if (item.status === 'failed') return `failed${tries}: ${item.error}${extra}`;
  if (item.status === 'skipped') return `skipped: ${item.note}`;
  return `${item.status}${tries}${extra}`;
}

// The last line of a maintenance run: what it did to the database, in how long, or that a dry run changed nothing and
// what --execute would do ("run ANALYZE", "refresh").
export function closingLine(database: string, statuses: readonly ActionStatus[], run: { execute: boolean; elapsedMs: number; did: string; wouldDo: string }): string {
  return run.execute
    ? `${run.did} of database "${database}": ${countLine(statuses)} in ${formatDuration(run.elapsedMs)}`
    : `dry run on database "${database}": ${countLine(statuses)}; nothing changed; add --execute to ${run.wouldDo}`;
}
