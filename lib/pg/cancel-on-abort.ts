import type pg from 'pg';
import { messageOf } from '../errors.ts';
import type { Logger } from '../log.ts';
import { connect, type ConnInfo } from './connection.ts';

// How an aborted run stops its client's backend, from a second connection: the server function, the application
// name of that connection, and the log's kind and words.
export interface BackendStop {
  sql: 'SELECT pg_cancel_backend($1)' | 'SELECT pg_terminate_backend($1)';
  applicationName: string;
  kind: string;
  /** the warning, given the backend's pid */
  doing: (pid: number) => string;
  /** the warning when it could not, given the pid */
  failed: (pid: number) => string;
}

// Runs fn; when signal aborts meanwhile, stops the client's backend as `stop` says (closing our socket would not
// do: the server notices a gone client only when it next writes to it).
export async function stopBackendOnAbort<T>(info: ConnInfo, client: pg.Client, signal: AbortSignal, log: Logger, stop: BackendStop, fn: () => Promise<T>): Promise<T> {
  const pid = (client as unknown as { processID?: number }).processID;
  const onAbort = () => {
    if (!pid) return;
    log.warn(stop.kind, stop.doing(pid));
    void (async () => {
      const other = await connect(info, stop.applicationName);
      try {
        await other.query(stop.sql, [pid]);
      } finally {
        await other.end().catch(() => {});
      }
    })().catch((err) => log.warn(stop.kind, `${stop.failed(pid)}: ${messageOf(err)}`));
  };
  signal.throwIfAborted();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

const CANCEL: BackendStop = {
  sql: 'SELECT pg_cancel_backend($1)',
  applicationName: 'pgops cancel',
  kind: 'cancel',
  doing: (pid) => `interrupted: cancelling the running statement (backend pid ${pid})`,
  failed: (pid) => `could not cancel backend ${pid}`,
};

// While `fn` runs, an interrupted run (SIGINT, SIGTERM) cancels the statement the client is running, from a second
// connection with pg_cancel_backend: a REINDEX or VACUUM can run for hours, and closing our socket does not stop it.
export function cancelOnAbort<T>(info: ConnInfo, client: pg.Client, signal: AbortSignal, log: Logger, fn: () => Promise<T>): Promise<T> {
  return stopBackendOnAbort(info, client, signal, log, CANCEL, fn);
}
