import type pg from 'pg';
import { messageOf } from '../errors.ts';
import type { Logger } from '../log.ts';
import { connect, type ConnInfo } from './connection.ts';

// While `fn` runs, an interrupted run (SIGINT, SIGTERM) cancels the statement the client is running, from a second
// connection with pg_cancel_backend: a REINDEX or VACUUM can run for hours, and closing our socket does not stop it.
export async function cancelOnAbort<T>(info: ConnInfo, client: pg.Client, signal: AbortSignal, log: Logger, fn: () => Promise<T>): Promise<T> {
  const pid = (client as unknown as { processID?: number }).processID;
  const onAbort = () => {
    if (!pid) return;
    log.warn('cancel', `interrupted: cancelling the running statement (backend pid ${pid})`);
    void (async () => {
      const other = await connect(info, 'pgops cancel');
      try {
        await other.query('SELECT pg_cancel_backend($1)', [pid]);
      } finally {
        await other.end().catch(() => {});
      }
    })().catch((err) => log.warn('cancel', `could not cancel backend ${pid}: ${messageOf(err)}`));
  };
  if (signal.aborted) throw signal.reason;
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
