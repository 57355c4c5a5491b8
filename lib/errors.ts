// The one table of exit codes. Codes are never renumbered; new conditions get new codes.
export const ExitCode = {
  OK: 0,
  /** a check found something to look at, or a task finished with something the user must look at */
  WARNING: 1,
  /** a check is critical, or the task failed */
  FAILED: 2,
  /** the task could not run: cannot connect, bad configuration, bad arguments */
  UNKNOWN: 3,
  /** another run holds the task's advisory lock */
  LOCKED: 4,
  /** the requested backup (or WAL file) does not exist in the repository */
  NOT_FOUND: 5,
  /** a stored file does not match the checksum its manifest lists */
  INTEGRITY: 6,
  /** wal fetch failed during an archive recovery: above 125, so that PostgreSQL stops the recovery (lib/tasks/wal/recovery-mode.ts) */
  STOP_RECOVERY: 128,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const exitCodeNames: Record<ExitCodeValue, string> = {
  0: 'ok',
  1: 'warning',
  2: 'failed',
  3: 'unknown',
  4: 'locked',
  5: 'not found',
  6: 'integrity',
  128: 'stop recovery',
};

// An error the top level turns into a message, a hint and an exit code. Messages are lowercase, no trailing period.
export class PgopsError extends Error {
  readonly code: ExitCodeValue;
  readonly hint?: string;

  constructor(message: string, opts: { code?: ExitCodeValue; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PgopsError';
    this.code = opts.code ?? ExitCode.FAILED;
    this.hint = opts.hint;
  }
}

// Usage errors: bad options or configuration (exit 3).
export function usageError(message: string, hint?: string): PgopsError {
  return new PgopsError(message, { code: ExitCode.UNKNOWN, hint });
}

// The message of any thrown value, for wrapping errors from libraries.
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
