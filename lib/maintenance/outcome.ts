import { ExitCode, type ExitCodeValue } from '../errors.ts';

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
