// What one run of a task ended with: what metrics, pings and webhooks report.
export interface RunOutcome {
  task: string;
  /** the config target's name, or the database, when known: tells runs of one task apart */
  instance: string;
  exitCode: number;
  startedAt: Date;
  finishedAt: Date;
  summary: string;
  /** bytes the task moved, when it says (backup) */
  bytes?: number;
  /** the task's own figures, exported as pgops_<task>_<name>{task,instance} (verify: files, damaged, missing) */
  gauges?: TaskGauges;
}

// A task's own figures for its metrics: name (snake_case) to help text and value.
export type TaskGauges = Record<string, { help: string; value: number }>;

export const succeeded = (o: { exitCode: number }) => o.exitCode <= 1;
