// A check's --timeout: Nagios kills a plugin that outlives its own timeout (60 s by default) and shows the bare
// "(Service Check Timed Out)" as CRITICAL, so a check gives up first, stops its work and says UNKNOWN itself.
import { ExitCode, PgopsError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { TaskResult } from '../task.ts';
import { formatDuration } from '../units.ts';
import { couldNotRun } from './result.ts';

/** the timeout of a check polled by a monitor, below Nagios's usual 60 s so that pgops's UNKNOWN reaches it */
export const CHECK_TIMEOUT_MS = 50_000;

/** how long a timed-out check waits for its work to stop (a cancelled query, a closed connection) before it reports */
export const STOP_WAIT_MS = 5_000;

// What a check's work receives: the signal that stops it (the run's interrupt, or the timeout), and what is left.
export interface Deadline {
  signal: AbortSignal;
  /** milliseconds until the timeout; Infinity without one */
  remainingMs(): number;
}

// "50s", "90s", "500ms": a timeout as an operator writes it (whole seconds up to ten minutes, else as durations print).
export function timeoutText(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  return ms <= 600_000 && ms % 1000 === 0 ? `${ms / 1000}s` : formatDuration(ms);
}

// The error a timed-out check ends with (exit 3, as Nagios's UNKNOWN).
export function timedOut(ms: number): PgopsError {
  return new PgopsError(`timed out after ${timeoutText(ms)}`, {
    code: ExitCode.UNKNOWN,
    hint: `the server or the repository did not answer in time (pg_stat_activity shows what waits, the storage endpoint may hang); --timeout ${timeoutText(ms)} is the limit, keep it below the monitor's own timeout`,
  });
}

interface CheckContext {
  signal: AbortSignal;
  log: Logger;
}

// Runs a check's work under a timeout (none when timeoutMs is 0 or undefined). An error is the check's UNKNOWN
// (couldNotRun); at the timeout the work's signal is aborted, so it cancels its query and closes its connections, and
// the check reports UNKNOWN "timed out after ..." once the work stopped or STOP_WAIT_MS passed. An interrupt of the
// run (SIGTERM) propagates, as every task's does. `empty` is the --json data of a check that found nothing.
export async function checkWithin(name: string, ctx: CheckContext, timeoutMs: number | undefined, work: (d: Deadline) => Promise<TaskResult>, empty: object = {}, stopWaitMs = STOP_WAIT_MS): Promise<TaskResult> {
  const limit = timeoutMs && timeoutMs > 0 ? timeoutMs : undefined;
  const timer = new AbortController();
  const signal = AbortSignal.any([ctx.signal, timer.signal]);
  const ends = Date.now() + (limit ?? Infinity);
  const running = work({ signal, remainingMs: () => Math.max(0, ends - Date.now()) });
  // the work may still reject after the timeout answered for it (its query was cancelled): that is expected
  running.catch(() => {});
  let fire: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    if (limit !== undefined) fire = setTimeout(() => resolve('expired'), limit);
  });
  try {
    const first = await Promise.race([running, expired]);
    if (first !== 'expired') return first;
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    return couldNotRun(name, err, ctx.log, empty);
  } finally {
    clearTimeout(fire);
  }
  const err = timedOut(limit!);
  ctx.log.warn('timeout', `${name.toLowerCase()} check ${err.message}: stopping its work`);
  timer.abort(err);
  let wait: NodeJS.Timeout | undefined;
  await Promise.race([running.catch(() => {}), new Promise((resolve) => (wait = setTimeout(resolve, stopWaitMs)))]);
  clearTimeout(wait);
  return couldNotRun(name, err, ctx.log, { ...empty, timedOut: true });
}
