import { ExitCode, usageError } from '../../errors.ts';
import { runPlanned } from '../../pg/lock-retry.ts';
import { displayName } from '../../pg/display-name.ts';
import { closingLine, exitCodeOf, outcomeText } from '../../plan/outcome.ts';
import { formatTable } from '../../plan/table.ts';
import { actionQuery, type ActionQuery } from '../../pg/action-query.ts';
import { withMaintenance, type MaintenanceSession } from '../../pg/maintenance-session.ts';
import { parseQualifiedName, qualified } from '../../pg/ident.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { listMatviews } from './catalog.ts';
import { planRefresh, resolveMatviews, type RefreshItem } from './plan.ts';

// pgops refresh-matviews: refreshes the configured (or all) materialized views one at a time, in dependency order,
// CONCURRENTLY where possible, with timings. Prints the plan; changes nothing without --execute.
export const refreshMatviews: TaskHandler<'refresh-matviews'> = async (ctx) => {
  const names = ctx.options.matview?.map((text) => {
    const n = parseQualifiedName(text);
    if (!n) throw usageError(`invalid --matview "${text}"`, 'write SCHEMA.NAME or NAME; double-quote a part that holds a dot or a quote ("my schema"."a.b")');
    return n;
  });
  return withMaintenance(ctx, 'refresh-matviews', (s) => refreshDatabase(ctx, s, names));
};

// Plans the refreshes, refreshes with --execute, and reports.
async function refreshDatabase(ctx: TaskContext<'refresh-matviews'>, s: MaintenanceSession, names: { schema: string; name: string }[] | undefined): Promise<TaskResult> {
  const o = ctx.options;
  const started = Date.now();
  const all = await listMatviews(s.client);
  const chosen = names ? resolveMatviews(all, names, s.facts.database) : undefined;
  const items = planRefresh(all, chosen, o.concurrentlyOnly);
  ctx.log.info('plan', formatPlan(items, s.facts.database, names !== undefined), {
    planned: items.filter((i) => i.status === 'planned').length,
    concurrently: items.filter((i) => i.status === 'planned' && i.concurrently).length,
    skipped: items.filter((i) => i.status === 'skipped').length,
  });

  if (s.execute) {
    const query = actionQuery(s, { actionTimeoutMs: o.actionTimeout, signal: ctx.signal, log: ctx.log });
    for (const item of items.filter((i) => i.status === 'planned')) await refreshOne(ctx, s, query, item);
  }

  const statuses = items.map((i) => i.status);
  const exitCode = exitCodeOf(statuses);
  const elapsed = Date.now() - started;
  const last = closingLine(s.facts.database, statuses, { execute: s.execute, elapsedMs: elapsed, did: 'refresh', wouldDo: 'refresh' });
  ctx.log.info('done', last, { exitCode });
  const table = items.length
    ? formatTable(['#', 'view', 'mode', 'before', 'after', 'time', 'result'], items.map((i, n) => [
      String(n + 1), displayName(i.view.schema, i.view.name), i.concurrently ? 'concurrently' : 'plain', formatSize(i.view.sizeBytes),
      i.sizeAfter !== undefined ? formatSize(i.sizeAfter) : '', i.durationMs !== undefined ? formatDuration(i.durationMs) : '', outcomeText(i),
    ]))
    : 'no materialized views in this database';
  return {
    exitCode,
    summary: `${table}\n${last}`,
    data: {
      ok: exitCode < ExitCode.FAILED,
      exitCode,
      database: s.facts.database,
      execute: s.execute,
      elapsedMs: elapsed,
      matviews: items.map((i) => ({
        schema: i.view.schema, name: i.view.name, populated: i.view.populated, concurrently: i.concurrently, uniqueIndex: i.view.uniqueIndex,
        why: i.why, status: i.status, note: i.note ?? null, sizeBefore: i.view.sizeBytes, sizeAfter: i.sizeAfter ?? null,
        attempts: i.attempts ?? null, durationMs: i.durationMs ?? null, error: i.error ?? null,
      })),
    },
  };
}

// Refreshes one planned view, retrying lock conflicts, and records its outcome and its size after.
async function refreshOne(ctx: TaskContext<'refresh-matviews'>, s: MaintenanceSession, query: ActionQuery, item: RefreshItem): Promise<void> {
  const v = item.view;
  const sql = `REFRESH MATERIALIZED VIEW ${item.concurrently ? 'CONCURRENTLY ' : ''}${qualified(v.schema, v.name)}`;
  ctx.log.info('refresh', `${sql} (${formatSize(v.sizeBytes)})${item.concurrently ? '' : ': readers wait until it ends'}`, { schema: v.schema, name: v.name, concurrently: item.concurrently });
  const r = await runPlanned(ctx, item, sql, query);
  if (r.ok) {
    const { rows } = await s.client.query<{ size: string }>('SELECT pg_total_relation_size($1::oid)::int8 AS size', [v.oid]);
    item.sizeAfter = Number(rows[0].size);
    ctx.log.info('refreshed', `${displayName(v.schema, v.name)} refreshed in ${formatDuration(item.durationMs!)}`, { durationMs: item.durationMs, attempts: r.attempts, sizeAfter: item.sizeAfter });
  } else {
    ctx.log.error('refresh', `${sql} failed after ${r.attempts} attempt(s): ${item.error}`, {
      hint: r.lockConflict ? 'a session held a conflicting lock on the view each time: see runbooks/refresh-matviews.md' : 'see runbooks/refresh-matviews.md for the usual causes',
    });
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;
}

function formatPlan(items: readonly RefreshItem[], database: string, named: boolean): string {
  const head = `refresh plan for database "${database}": ${named ? 'the views named with --matview' : 'every materialized view'}, one at a time, each after the views it reads`;
  if (!items.length) return `${head}\nno materialized views`;
  const rows = items.map((i, n) => [String(n + 1), displayName(i.view.schema, i.view.name), formatSize(i.view.sizeBytes), i.why, i.status === 'skipped' ? `skipped: ${i.note}` : '']);
  return `${head}\n${formatTable(['#', 'view', 'size', 'how', 'note'], rows).split('\n').map((l) => `  ${l}`).join('\n')}`;
}
