import type { TaskName } from '../options.ts';

// What every task prints with --json: one shape for a result and an error alike, so that a consumer reads `ok` and
// `exitCode` instead of guessing from the keys which of the two it got. A change to the shape (a field removed or
// renamed, a meaning changed) is a new version; fields may be added within one.
export const JSON_ENVELOPE_VERSION = 1;

export interface JsonEnvelope {
  version: typeof JSON_ENVELOPE_VERSION;
  /** the command's words, as `pgops <task>` spells them: "backup", "backups list", "wal check" */
  task: string;
  /** exitCode is 0; a check's level (WARNING, CRITICAL) stays in data */
  ok: boolean;
  exitCode: number;
  /** the task's result data, also when it exits non-zero with one (a failed drill's report, a critical check); null when it failed with an error */
  data: unknown;
  error: string | null;
  hint: string | null;
}

// The command groups whose tasks are named "<group>-<command>" (lib/tasks/index.ts): `backups-list` is `pgops backups
// list`, while `idle-cleanup` is one word. Kept here rather than read from the registry, which would pull every task's
// loader into wal push and fetch's bundle (dist/wal.cjs); a unit test holds the two together.
const GROUPS = ['backups', 'repo', 'wal', 'partitions'];

// The command words of a task, as `pgops <task>` spells them: "backups-list" is "backups list".
export function commandWordsOf(task: TaskName): string {
  const dash = task.indexOf('-');
  return dash > 0 && GROUPS.includes(task.slice(0, dash)) ? `${task.slice(0, dash)} ${task.slice(dash + 1)}` : task;
}

// The envelope of a task that returned a result (whatever its exit code).
export function resultEnvelope(task: TaskName, exitCode: number, data: unknown): JsonEnvelope {
  return { version: JSON_ENVELOPE_VERSION, task: commandWordsOf(task), ok: exitCode === 0, exitCode, data: data ?? null, error: null, hint: null };
}

// The envelope of a task that failed with an error: no data, the error's message and hint.
export function errorEnvelope(task: TaskName, exitCode: number, error: string, hint: string | undefined): JsonEnvelope {
  return { version: JSON_ENVELOPE_VERSION, task: commandWordsOf(task), ok: exitCode === 0, exitCode, data: null, error, hint: hint ?? null };
}
