import type { Terminal } from './confirm.ts';
import type { ExitCodeValue } from './errors.ts';
import type { Logger } from './log.ts';
import type { OptionsOf, TaskName } from './options.ts';
import type { TaskGauges } from './notify/outcome.ts';

// What a task handler receives: everything it needs, nothing read from globals, so tests can hand in their own.
export interface TaskContext<T extends TaskName = TaskName> {
  /** the task's options, resolved (flags > environment > config > defaults) and typed by lib/options.ts's table */
  options: OptionsOf<T>;
  /** positional arguments by name (wal push <path>) */
  args: Record<string, string>;
  log: Logger;
  /** aborted on SIGINT/SIGTERM: handlers stop children, abort uploads and clean up */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  /** the clock (tests inject one) */
  now: () => Date;
  /** an engineer's terminal, where a destructive step asks first (lib/confirm.ts); undefined for cron and pipes */
  terminal?: Terminal;
}

// What a task hands back to the top level: the exit code, a human summary, and the data --json prints.
export interface TaskResult {
  exitCode: ExitCodeValue;
  summary: string;
  data: unknown;
  /** the task's own figures for the run's metrics (lib/notify/metrics.ts) */
  gauges?: TaskGauges;
}

export type TaskHandler<T extends TaskName = TaskName> = (ctx: TaskContext<T>) => Promise<TaskResult>;

// A handler of any task, as the registry (lib/tasks/index.ts) holds it: dispatch hands it the context of its own task.
export type AnyTaskHandler = (ctx: never) => Promise<TaskResult>;
