// What one run of a task ended with: what metrics, pings and webhooks report.
export interface RunOutcome {
  /** the task; notifyEnd makes drill --pitr drill-pitr (lib/notify/job.ts), the label task of its metrics */
  task: string;
  /** the config target's name, else the database of --db, else '': tells runs of one task apart (label target) */
  target: string;
  exitCode: number;
  startedAt: Date;
  finishedAt: Date;
  summary: string;
  /** what the task's result carries (its --json data, before redaction): the metrics read their figures from it */
  data?: unknown;
  /** the task's own figures, exported as pgops_<task>_<name>{task,target} (basebackup: tar_bytes) */
  gauges?: TaskGauges;
}

// A task's own figures for its metrics: name (snake_case) to help text and value.
export type TaskGauges = Record<string, { help: string; value: number }>;

export const succeeded = (o: { exitCode: number }) => o.exitCode <= 1;
