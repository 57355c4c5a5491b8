import type pg from 'pg';
import { messageOf } from '../../../errors.ts';
import type { Logger } from '../../../log.ts';
import type { DrillCheck } from '../../../repo/drill-reports.ts';
import { amcheckIndexes } from '../amcheck.ts';
import { checkAssertions, type Assertion } from '../assertions.ts';
import { integrityRead, type IntegrityResult } from './integrity.ts';
import { databases, superuserSession, type DrillServer } from './session.ts';

export interface VerifyOptions {
  amcheck: boolean;
  assertions: Assertion[];
  /** the database the assertions run in: --db's, else postgres */
  assertionDatabase: string;
  statementTimeoutMs: number;
  log: Logger;
  signal: AbortSignal;
}

// The checks of the promoted server: the integrity read of every database, amcheck of every B-tree index with
// --amcheck (the extension is created in each database of the throwaway cluster, which is removed afterwards), and
// the user's assertions.
export async function verifyRecovered(s: DrillServer, o: VerifyOptions): Promise<{ checks: DrillCheck[]; integrity: IntegrityResult }> {
  const dbs = await databases(s, o.statementTimeoutMs);
  const integrity = await integrityRead(s, dbs, o);
  const checks = [...integrity.checks];
  if (o.amcheck) {
    o.log.info('amcheck', `checking the B-tree indexes of ${dbs.length} databases with amcheck`);
    for (const db of dbs) checks.push(...(await inDatabase(s, db, o, 'amcheck', async (c) => (await amcheckIndexes(c)).map((x) => ({ ...x, name: `${x.name} (${db})` })))));
  }
  if (o.assertions.length) {
    o.log.info('assertions', `running ${o.assertions.length} assertion(s) in database "${o.assertionDatabase}"`);
    checks.push(...(await inDatabase(s, o.assertionDatabase, o, 'assertions', (c) => checkAssertions(c, o.assertions, o.statementTimeoutMs))));
  }
  return { checks, integrity };
}

// Runs a check in one database's session; a database that cannot be reached is that check's failure.
async function inDatabase(s: DrillServer, db: string, o: VerifyOptions, what: string, fn: (c: pg.Client) => Promise<DrillCheck[]>): Promise<DrillCheck[]> {
  o.signal.throwIfAborted();
  let client: pg.Client;
  try {
    client = await superuserSession(s, db, o.statementTimeoutMs);
  } catch (err) {
    return [{ name: `${what} (${db})`, status: 'fail', detail: `cannot connect to database "${db}" of the recovered server: ${messageOf(err)}` }];
  }
  const stop = () => void client.end().catch(() => {});
  o.signal.addEventListener('abort', stop, { once: true });
  try {
    return await fn(client);
  } finally {
    o.signal.removeEventListener('abort', stop);
    await client.end().catch(() => {});
    o.signal.throwIfAborted();
  }
}
