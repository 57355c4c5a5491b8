// What a check hands back to the top level: the level as its exit code, the status line on stdout.
import { messageOf, PgopsError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { TaskResult } from '../task.ts';
import { LEVEL_NAMES, type Level } from './level.ts';
import { statusLine } from './output.ts';

// The result of a check that ran: its level is the exit code, and its --json starts with the status and the line.
export function checkResult(level: Level, line: string, data: object, summary: string = line): TaskResult {
  return { exitCode: level, summary, data: { status: LEVEL_NAMES[level], exitCode: level, line, ...data } };
}

// The result of a check that could not run: UNKNOWN, still as a status line because a monitor reads stdout; the
// error goes to the log with its hint.
export function couldNotRun(name: string, err: unknown, log: Logger, data: object = {}): TaskResult {
  const line = statusLine(name, 3, messageOf(err));
  log.error('failed', messageOf(err), { hint: err instanceof PgopsError ? err.hint : undefined });
  return checkResult(3, line, data);
}
