// At a check's timeout its database session is ended from a second connection. A check only reads, so ending the
// session loses nothing, and unlike a cancel (lib/pg/cancel-on-abort.ts) it also stops the queries the check would
// send next (health reads one section after another). Closing our own socket would not do: the server notices a
// gone client only when it next writes to it, so a query waiting on a lock or on I/O would run on.
import type pg from 'pg';
import { messageOf } from '../errors.ts';
import type { Logger } from '../log.ts';
import { connect, type ConnInfo } from '../pg/connection.ts';

// Runs fn; when signal aborts meanwhile, terminates the client's backend (pg_terminate_backend; a role may end its
// own sessions) so that fn's query fails at once.
export async function endSessionOnAbort<T>(info: ConnInfo, client: pg.Client, signal: AbortSignal, log: Logger, fn: () => Promise<T>): Promise<T> {
  const pid = (client as unknown as { processID?: number }).processID;
  const onAbort = () => {
    if (!pid) return;
    log.warn('timeout', `ending the check's database session (backend pid ${pid})`);
    void (async () => {
      const other = await connect(info, 'pgops stop');
      try {
        await other.query('SELECT pg_terminate_backend($1)', [pid]);
      } finally {
        await other.end().catch(() => {});
      }
    })().catch((err) => log.warn('timeout', `could not end backend ${pid}: ${messageOf(err)}`));
  };
  signal.throwIfAborted();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
