import { ExitCode, PgopsError, messageOf } from '../errors.ts';
import type { ActionStatus } from '../plan/outcome.ts';
import { describePgError } from './describe-error.ts';
import type { Logger } from '../log.ts';
import { formatDuration } from '../units.ts';
import type { TaskContext } from '../task.ts';

// SQLSTATEs of a lock conflict worth another try: lock_not_available (lock_timeout) and deadlock_detected.
const LOCK_CONFLICTS = new Set(['55P03', '40P01']);

// True when a PostgreSQL error is a lock timeout or a deadlock: the statement can simply be tried again later.
export function isLockConflict(err: unknown): boolean {
  return LOCK_CONFLICTS.has((err as { code?: string } | null)?.code ?? '');
}

// Delay before retry number `retry` (1-based): base, 2×base, 4×base, ... capped at maxMs. Deterministic on purpose:
// one maintenance run per database (the advisory lock), so there is no herd to spread out.
export function backoffDelay(retry: number, baseMs: number, maxMs = 300_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
}

export interface LockRetryOptions {
  /** retries after the first attempt (0: one attempt only) */
  retries: number;
  baseDelayMs: number;
  log: Logger;
  /** what is being done, for the log: "REINDEX INDEX CONCURRENTLY public.t_v" */
  what: string;
  signal?: AbortSignal;
  /** epoch ms after which no retry starts (a --max-duration) */
  deadline?: number;
  /** runs after every failed attempt, before the wait (drops what a half-done statement left behind) */
  afterFailure?: (err: unknown, attempt: number) => Promise<void>;
}

// The retry settings of a task's --lock-retries and --lock-retry-delay, for one statement.
export function lockRetryFor(ctx: TaskContext<'reindex' | 'analyze' | 'refresh-matviews'>, what: string): LockRetryOptions {
  return { retries: ctx.options.lockRetries, baseDelayMs: ctx.options.lockRetryDelay, log: ctx.log, signal: ctx.signal, what };
}

export type LockRetryResult<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; error: unknown; attempts: number; lockConflict: boolean };

// Runs `fn`; on a lock timeout or deadlock waits with backoff and tries again, at most `retries` more times.
// Other errors are not retried. Never throws for a failed statement: the caller records the outcome and goes on.
export async function withLockRetry<T>(fn: (attempt: number) => Promise<T>, o: LockRetryOptions): Promise<LockRetryResult<T>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await fn(attempt), attempts: attempt };
    } catch (err) {
      if (o.afterFailure) await o.afterFailure(err, attempt);
      const conflict = isLockConflict(err);
      if (!conflict || attempt > o.retries) return { ok: false, error: err, attempts: attempt, lockConflict: conflict };
      const delay = backoffDelay(attempt, o.baseDelayMs);
      if (o.deadline !== undefined && Date.now() + delay > o.deadline) {
        o.log.warn('retry', `${o.what}: ${messageOf(err)}; not retried: --max-duration would pass during the wait`);
        return { ok: false, error: err, attempts: attempt, lockConflict: true };
      }
      o.log.warn('retry', `${o.what}: ${messageOf(err)} (attempt ${attempt} of ${o.retries + 1}); retrying in ${formatDuration(delay)}`, {
        attempt,
        delayMs: delay,
        sqlstate: (err as { code?: string }).code,
      });
      await sleep(delay, o.signal);
    }
  }
}

// Waits `ms`, or throws at once when the run is interrupted.
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new PgopsError('interrupted', { code: ExitCode.FAILED }));
    };
    if (signal?.aborted) return stop();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });
}

// One planned statement's record: what runPlanned fills in.
export interface PlannedStatement {
  status: ActionStatus;
  attempts?: number;
  durationMs?: number;
  error?: string;
}

// Runs one planned statement of analyze or refresh-matviews with the task's lock retries and records on item how it
// went (done or failed, attempts, duration, the error); the caller logs it.
export async function runPlanned(ctx: TaskContext<'analyze' | 'refresh-matviews'>, item: PlannedStatement, sql: string, query: (sql: string) => Promise<unknown>): Promise<LockRetryResult<unknown>> {
  const t0 = Date.now();
  const r = await withLockRetry(() => query(sql), lockRetryFor(ctx, sql));
  item.attempts = r.attempts;
  item.durationMs = Date.now() - t0;
  item.status = r.ok ? 'done' : 'failed';
  if (!r.ok) item.error = describePgError(r.error);
  return r;
}
