import type pg from 'pg';
import type { Logger } from '../log.ts';
import { cancelOnAbort } from './cancel-on-abort.ts';
import type { MaintenanceSession } from './maintenance-session.ts';
import { withStatementTimeout } from './statement-timeout.ts';

export interface ActionSettings {
  /** statement_timeout of the statement itself (0: none) */
  actionTimeoutMs: number;
  signal: AbortSignal;
  log: Logger;
}

// Sends one maintenance statement (REINDEX, VACUUM, REFRESH, DROP INDEX ...) on the session's connection.
export type ActionQuery = (sql: string, opts?: { cancellable?: boolean }) => Promise<pg.QueryResult>;

// The session's query function for maintenance statements: each runs under the action timeout and is cancelled on
// the server when the run is interrupted; `cancellable: false` for clean-up that must finish even then.
export function actionQuery(s: MaintenanceSession, o: ActionSettings): ActionQuery {
  return (sql, opts = {}) => {
    const send = () => withStatementTimeout(s.client, o.actionTimeoutMs, () => s.client.query(sql));
    return opts.cancellable === false ? send() : cancelOnAbort(s.info, s.client, o.signal, o.log, send);
  };
}
