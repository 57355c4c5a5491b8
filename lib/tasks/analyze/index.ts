import { ExitCode } from '../../errors.ts';
import { runPlanned } from '../../pg/lock-retry.ts';
import { displayName } from '../../pg/display-name.ts';
import { closingLine, exitCodeOf, outcomeText } from '../../plan/outcome.ts';
import { formatTable } from '../../plan/table.ts';
import { actionQuery, type ActionQuery } from '../../pg/action-query.ts';
import { withMaintenance, type MaintenanceSession } from '../../pg/maintenance-session.ts';
import { qualified } from '../../pg/ident.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { analyzeDefaults, listTables, type AnalyzeDefaults } from './catalog.ts';
import { planAnalyze, type AnalyzeItem } from './plan.ts';

// pgops analyze: ANALYZE (or VACUUM (ANALYZE)) the relations that need it, one at a time. Prints the plan;
// changes nothing without --execute.
export const analyze: TaskHandler<'analyze'> = (ctx) => withMaintenance(ctx, 'analyze', (s) => analyzeDatabase(ctx, s));

// Plans what needs ANALYZE, analyzes it with --execute, and reports.
async function analyzeDatabase(ctx: TaskContext<'analyze'>, s: MaintenanceSession): Promise<TaskResult> {
  const o = ctx.options;
  const started = Date.now();
  const verb = o.vacuum ? 'VACUUM (ANALYZE)' : 'ANALYZE';
  const defaults = await analyzeDefaults(s.client);
  const tables = await listTables(s.client);
  const items = planAnalyze(tables, defaults);
  ctx.log.info('plan', formatPlan(items, verb, s.facts.database, defaults, tables.length), {
    planned: items.filter((i) => i.status === 'planned').length,
    skipped: items.filter((i) => i.status === 'skipped').length,
    checked: tables.length,
  });

  if (s.execute) {
    const query = actionQuery(s, { actionTimeoutMs: o.actionTimeout, signal: ctx.signal, log: ctx.log });
    for (const item of items.filter((i) => i.status === 'planned')) await analyzeOne(ctx, query, verb, item);
  }

  const statuses = items.map((i) => i.status);
  const exitCode = exitCodeOf(statuses);
  const elapsed = Date.now() - started;
  const last = closingLine(s.facts.database, statuses, { execute: s.execute, elapsedMs: elapsed, did: verb.toLowerCase(), wouldDo: `run ${verb}` });
  ctx.log.info('done', last, { exitCode });
  const table = items.length ? formatTable(['relation', 'kind', 'size', 'time', 'result'], items.map((i) => [
    displayName(i.table.schema, i.table.name), kindText(i), formatSize(i.table.sizeBytes), i.durationMs !== undefined ? formatDuration(i.durationMs) : '', outcomeText(i),
  ])) : 'nothing to analyze: every table is within its autovacuum analyze threshold';
  return {
    exitCode,
    summary: `${table}\n${last}`,
    data: {
      ok: exitCode < ExitCode.FAILED,
      exitCode,
      database: s.facts.database,
      execute: s.execute,
      command: verb,
      checked: tables.length,
      defaults,
      elapsedMs: elapsed,
      relations: items.map((i) => ({
        schema: i.table.schema, name: i.table.name, kind: i.table.kind, reasons: i.reasons, changes: i.table.changes,
        reltuples: i.table.reltuples, lastAnalyze: i.table.lastAnalyze, lastAutoanalyze: i.table.lastAutoanalyze,
        covers: i.covers.map((c) => ({ schema: c.schema, name: c.name })), status: i.status, note: i.note ?? null,
        attempts: i.attempts ?? null, durationMs: i.durationMs ?? null, error: i.error ?? null,
      })),
    },
  };
}

// Runs ANALYZE (or VACUUM (ANALYZE)) on one planned relation, retrying lock conflicts, and records its outcome.
async function analyzeOne(ctx: TaskContext<'analyze'>, query: ActionQuery, verb: string, item: AnalyzeItem): Promise<void> {
  const t = item.table;
  const sql = `${verb} ${qualified(t.schema, t.name)}`;
  ctx.log.info('analyze', `${sql}: ${item.reasons.join('; ')}`, { schema: t.schema, table: t.name, relkind: t.kind, changes: t.changes });
  const r = await runPlanned(ctx, item, sql, query);
  if (r.ok) {
    ctx.log.info('analyzed', `${displayName(t.schema, t.name)} done in ${formatDuration(item.durationMs!)}`, { durationMs: item.durationMs, attempts: r.attempts });
  } else {
    ctx.log.error('analyze', `${sql} failed after ${r.attempts} attempt(s): ${item.error}`, {
      hint: r.lockConflict ? 'a session held a conflicting lock (ShareUpdateExclusive or stronger: DDL, another VACUUM or ANALYZE) each time: see runbooks/analyze.md' : undefined,
    });
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;
}

function formatPlan(items: readonly AnalyzeItem[], verb: string, database: string, d: AnalyzeDefaults, checked: number): string {
  const head = `analyze plan for database "${database}": ${checked} relation(s) checked against autovacuum_analyze_threshold ${d.threshold} + autovacuum_analyze_scale_factor ${d.scaleFactor} × rows (reloptions honoured)`;
  if (!items.length) return `${head}\nnothing to analyze`;
  const rows = items.map((i, n) => [
    i.status === 'planned' ? String(n + 1) : '-',
    displayName(i.table.schema, i.table.name),
    kindText(i),
    [...i.reasons, ...(i.covers.length ? [`covers ${i.covers.map((c) => displayName(c.schema, c.name)).join(', ')}`] : []), ...(i.note ? [`skipped: ${i.note}`] : [])].join('; '),
  ]);
  return `${head}\n${verb}, one relation at a time:\n${formatTable(['#', 'relation', 'kind', 'why'], rows).split('\n').map((l) => `  ${l}`).join('\n')}`;
}

function kindText(i: AnalyzeItem): string {
  return i.table.kind === 'p' ? 'partitioned' : i.table.kind === 'm' ? 'matview' : 'table';
}
