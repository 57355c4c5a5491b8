import { messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { withLockRetry } from '../../pg/lock-retry.ts';
import { describePgError } from '../../pg/describe-error.ts';
import { actionQuery } from '../../pg/action-query.ts';
import type { MaintenanceSession } from '../../pg/maintenance-session.ts';
import { displayName } from '../../pg/display-name.ts';
import { qualified } from '../../pg/ident.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { indexByName, leftoversOf, type IndexInfo } from './catalog.ts';
import { reasonText, type LeftoverItem, type RebuildItem } from './plan.ts';

export interface ActOptions {
  retries: number;
  baseDelayMs: number;
  actionTimeoutMs: number;
  /** epoch ms: no retry starts after it */
  deadline: number;
  log: Logger;
  signal: AbortSignal;
}

const sqlName = (i: IndexInfo) => qualified(i.schema, i.name);
const show = (i: IndexInfo) => displayName(i.schema, i.name);

// Drops one leftover with DROP INDEX CONCURRENTLY (it takes no lock that blocks reads or writes), retried on lock timeout.
export async function dropLeftover(s: MaintenanceSession, item: LeftoverItem, o: ActOptions): Promise<void> {
  const query = actionQuery(s, o);
  const what = `DROP INDEX CONCURRENTLY ${sqlName(item.index)}`;
  o.log.info('drop', `dropping leftover ${show(item.index)} on ${displayName(item.index.schema, item.index.table)} (invalid, ${formatSize(item.index.size)}): ${what}`, {
    index: item.index.name, schema: item.index.schema, table: item.index.table, sizeBytes: item.index.size,
  });
  const r = await withLockRetry(() => query(`DROP INDEX CONCURRENTLY IF EXISTS ${sqlName(item.index)}`), { ...retryOpts(o), what });
  item.attempts = r.attempts;
  if (r.ok) {
    item.status = 'done';
    return;
  }
  item.status = 'failed';
  item.error = describePgError(r.error);
  o.log.error('drop', `could not drop ${show(item.index)}: ${item.error}`, { hint: lockHint(r.lockConflict) });
  if (o.signal.aborted) throw o.signal.reason;
}

// Rebuilds one index with REINDEX INDEX CONCURRENTLY, one attempt per lock timeout up to the retries. After a failed
// attempt it drops what that attempt left (the invalid name_ccnew, or name_ccold when it failed after the swap);
// a failure after the swap still leaves the rebuilt index in place, and counts as a rebuild.
export async function rebuildIndex(s: MaintenanceSession, item: RebuildItem, o: ActOptions): Promise<void> {
  const idx = item.index;
  const query = actionQuery(s, o);
  const before = new Set((await leftoversOf(s.client, idx.tableOid)).map((l) => l.oid));
  const what = `REINDEX INDEX CONCURRENTLY ${sqlName(idx)}`;
  o.log.info('rebuild', `rebuilding ${show(idx)} on ${displayName(idx.schema, idx.table)} (${formatSize(idx.size)}, ${reasonText(item)}): ${what}`, {
    index: idx.name, schema: idx.schema, table: idx.table, sizeBytes: idx.size, reason: item.reason, bloatPercent: item.bloat?.percent,
  });
  const started = Date.now();
  const r = await withLockRetry(async (attempt) => {
    if (attempt > 1) o.log.info('rebuild', `${what}: attempt ${attempt} of ${o.retries + 1}`, { attempt });
    try {
      await query(what);
      return 'rebuilt' as const;
    } catch (err) {
      await dropNewLeftovers(s, idx, before, o);
      const now = await indexByName(s.client, idx.schema, idx.name);
      if (now && now.oid !== idx.oid && now.valid) {
        o.log.warn('rebuild', `${what} failed after the new index took over (${messageOf(err)}): the rebuilt index is in place`);
        return 'swapped' as const;
      }
      throw err;
    }
  }, { ...retryOpts(o), what });
  item.attempts = r.attempts;
  item.durationMs = Date.now() - started;
  const left = (await leftoversOf(s.client, idx.tableOid)).filter((l) => !before.has(l.oid)).map((l) => l.name);
  if (left.length) item.leftBehind = left;
  if (r.ok) {
    item.status = 'done';
    item.sizeAfter = (await indexByName(s.client, idx.schema, idx.name))?.size;
    const tries = r.attempts > 1 ? ` (${r.attempts} attempts)` : '';
    o.log.info('rebuilt', `rebuilt ${show(idx)}: ${formatSize(idx.size)} -> ${formatSize(item.sizeAfter ?? 0)} in ${formatDuration(item.durationMs)}${tries}`, {
      index: idx.name, schema: idx.schema, sizeBefore: idx.size, sizeAfter: item.sizeAfter, attempts: r.attempts, durationMs: item.durationMs,
    });
  } else {
    item.status = 'failed';
    item.error = describePgError(r.error);
    o.log.error('rebuild', `${what} failed after ${r.attempts} attempt(s): ${item.error}`, { hint: lockHint(r.lockConflict), attempts: r.attempts });
  }
  if (left.length) o.log.warn('leftover', `left behind on ${displayName(idx.schema, idx.table)}: ${left.join(', ')} (invalid; the next run drops them)`);
  if (o.signal.aborted) throw o.signal.reason;
}

// Drops the transient indexes a failed attempt created (not cancellable: this clean-up must run also when interrupted).
async function dropNewLeftovers(s: MaintenanceSession, idx: IndexInfo, before: ReadonlySet<number>, o: ActOptions): Promise<void> {
  const query = actionQuery(s, o);
  for (const l of (await leftoversOf(s.client, idx.tableOid)).filter((x) => !before.has(x.oid))) {
    const sql = `DROP INDEX CONCURRENTLY IF EXISTS ${qualified(idx.schema, l.name)}`;
    o.log.info('cleanup', `the failed attempt left ${displayName(idx.schema, l.name)} (invalid): ${sql}`);
    try {
      await query(sql, { cancellable: false });
    } catch (err) {
      o.log.warn('cleanup', `could not drop ${displayName(idx.schema, l.name)}: ${messageOf(err)}`);
    }
  }
}

function retryOpts(o: ActOptions) {
  return { retries: o.retries, baseDelayMs: o.baseDelayMs, log: o.log, signal: o.signal, deadline: o.deadline };
}

function lockHint(lockConflict: boolean): string {
  return lockConflict
    ? 'another session held a conflicting lock every time: find it with the query in runbooks/reindex.md (pg_locks, pg_stat_activity), then run again at a quieter time or with a larger --lock-timeout or --lock-retries'
    : 'read the error; the runbook runbooks/reindex.md lists the usual causes';
}
