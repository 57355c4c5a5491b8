// At a check's timeout its database session is ended from a second connection. A check only reads, so ending the
// session loses nothing, and unlike a cancel (cancelOnAbort) it also stops the queries the check would send next
// (health reads one section after another). Closing our own socket would not do: the server notices a gone client
// only when it next writes to it, so a query waiting on a lock or on I/O would run on.
import type pg from 'pg';
import type { Logger } from '../log.ts';
import { stopBackendOnAbort, type BackendStop } from '../pg/cancel-on-abort.ts';
import type { ConnInfo } from '../pg/connection.ts';

const END: BackendStop = {
  sql: 'SELECT pg_terminate_backend($1)',
  applicationName: 'pgops stop',
  kind: 'timeout',
  doing: (pid) => `ending the check's database session (backend pid ${pid})`,
  failed: (pid) => `could not end backend ${pid}`,
};

// Runs fn; when signal aborts meanwhile, terminates the client's backend (pg_terminate_backend; a role may end its
// own sessions) so that fn's query fails at once.
export function endSessionOnAbort<T>(info: ConnInfo, client: pg.Client, signal: AbortSignal, log: Logger, fn: () => Promise<T>): Promise<T> {
  return stopBackendOnAbort(info, client, signal, log, END, fn);
}
