// What a check hands back to the top level: the level as its exit code, the status line on stdout.
import { messageOf, PgopsError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { TaskResult } from '../task.ts';
import { LEVEL_NAMES, type Level } from './level.ts';
import { statusLine } from './output.ts';

// What a check prints besides its status line.
export interface CheckOutput {
  /** the text output when it is more than the status line (health and verify add a line per finding) */
  summary?: string;
  /** the runbook pages its findings lead to (lib/check/runbook-pages.ts), empty when OK or UNKNOWN */
  runbook?: readonly string[];
}

// The result of a check that ran: its level is the exit code, and its --json starts with the status, the line and
// the runbook pages. The text names each page on a `runbook:` line after the first line, the status line, which stays
// first and unchanged because monitors parse it.
export function checkResult(level: Level, line: string, data: object, o: CheckOutput = {}): TaskResult {
  const runbook = [...(o.runbook ?? [])];
  const [first, ...rest] = (o.summary ?? line).split('\n');
  const summary = [first, ...runbook.map((page) => `runbook: ${page}`), ...rest].join('\n');
  return { exitCode: level, summary, data: { status: LEVEL_NAMES[level], exitCode: level, line, runbook, ...data } };
}

// The result of a check that could not run: UNKNOWN, still as a status line because a monitor reads stdout; the
// error goes to the log with its hint.
export function couldNotRun(name: string, err: unknown, log: Logger, data: object = {}): TaskResult {
  const line = statusLine(name, 3, messageOf(err));
  log.error('failed', messageOf(err), { hint: err instanceof PgopsError ? err.hint : undefined });
  return checkResult(3, line, data);
}
