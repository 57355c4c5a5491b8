import type { ExitCodeValue } from './errors.ts';
import type { Logger } from './log.ts';
import type { OptionValues } from './options.ts';
import type { TaskGauges } from './signals/outcome.ts';

// What a task handler receives: everything it needs, nothing read from globals, so tests can hand in their own.
export interface TaskContext {
  options: OptionValues;
  /** positional arguments by name (wal push <path>) */
  args: Record<string, string>;
  log: Logger;
  /** aborted on SIGINT/SIGTERM: handlers stop children, abort uploads and clean up */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  /** the clock (tests inject one) */
  now: () => Date;
}

// What a task hands back to the top level: the exit code, a human summary, and the data --json prints.
export interface TaskResult {
  exitCode: ExitCodeValue;
  summary: string;
  data: unknown;
  /** the task's own figures for the run's metrics (lib/signals/metrics.ts) */
  gauges?: TaskGauges;
}

export type TaskHandler = (ctx: TaskContext) => Promise<TaskResult>;
