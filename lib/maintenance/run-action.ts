import type pg from 'pg';
import type { Logger } from '../log.ts';
import { cancelOnAbort } from './cancel-on-abort.ts';
import type { MaintenanceSession } from './session.ts';
import { withStatementTimeout } from './statement-timeout.ts';

export interface ActionSettings {
  /** statement_timeout of the statement itself (0: none) */
  actionTimeoutMs: number;
  signal: AbortSignal;
  log: Logger;
}

// Runs one maintenance statement (REINDEX, VACUUM, REFRESH, DROP INDEX ...) under the action timeout, cancelling it
// on the server when the run is interrupted. `cancellable: false` for clean-up that must finish even then.
export function actionRunner(s: MaintenanceSession, o: ActionSettings) {
  return (sql: string, opts: { cancellable?: boolean } = {}): Promise<pg.QueryResult> => {
    const run = () => withStatementTimeout(s.client, o.actionTimeoutMs, () => s.client.query(sql));
    return opts.cancellable === false ? run() : cancelOnAbort(s.info, s.client, o.signal, o.log, run);
  };
}
