import { ExitCode, PgopsError } from '../errors.ts';

// Settles with p, or rejects as soon as signal aborts: a repository request that does not take a signal (an S3 request
// waiting on a silent endpoint) must not keep an interrupted wal push or fetch from cleaning up and ending.
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(reasonOf(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function reasonOf(signal: AbortSignal): unknown {
  return signal.reason ?? new PgopsError('interrupted', { code: ExitCode.FAILED });
}
