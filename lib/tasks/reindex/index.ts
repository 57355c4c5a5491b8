import { ExitCode, usageError } from '../../errors.ts';
import { exitCodeOf } from '../../plan/outcome.ts';
import { withMaintenance, type MaintenanceSession } from '../../pg/maintenance-session.ts';
import { parseQualifiedName } from '../../pg/ident.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { listIndexes } from './catalog.ts';
import { measureBloat, measureSource } from './measure.ts';
import { bloatCandidates, planRebuilds, resolveNamed, type ReindexPlan } from './plan.ts';
import { dropLeftover, rebuildIndex, type ActOptions } from './rebuild.ts';
import { formatPlan, formatResults } from './report.ts';

// pgops reindex: drops the leftovers of failed concurrent rebuilds, then rebuilds bloated, invalid or named indexes
// one at a time with REINDEX INDEX CONCURRENTLY. Prints the plan; changes nothing without --execute.
export const reindex: TaskHandler<'reindex'> = async (ctx) => {
  const names = ctx.options.index?.map((text) => {
    const n = parseQualifiedName(text);
    if (!n) throw usageError(`invalid --index "${text}"`, 'write SCHEMA.INDEX or INDEX; double-quote a part that holds a dot or a quote ("my schema"."a.b")');
    return n;
  });
  return withMaintenance(ctx, 'reindex', (s) => reindexDatabase(ctx, s, names));
};

// Plans the rebuilds (leftovers, invalid, bloated or named indexes), rebuilds with --execute, and reports.
async function reindexDatabase(ctx: TaskContext<'reindex'>, s: MaintenanceSession, names: { schema: string; name: string }[] | undefined): Promise<TaskResult> {
  const o = ctx.options;
  const started = Date.now();
  const header = {
    database: s.facts.database,
    minSize: o.minSize,
    minBloat: o.minBloat,
    maxIndexes: o.maxIndexes,
    maxDurationMs: o.maxDuration,
    named: names !== undefined,
  };
  const indexes = await listIndexes(s.client);
  const named = names ? resolveNamed(indexes, names, s.facts.database) : undefined;
  const src = await measureSource(s.client);
  const bloat = await measureBloat(s.client, named ? [] : bloatCandidates(indexes, header.minSize), src, ctx.log);
  const plan = planRebuilds(indexes, bloat, { named, minSize: header.minSize, minBloat: header.minBloat, maxIndexes: header.maxIndexes });
  ctx.log.info('plan', formatPlan(plan, { ...header, measured: src.describe }), {
    bloatSource: src.source,
    leftovers: plan.leftovers.length,
    rebuild: plan.rebuild.filter((r) => r.status === 'planned').length,
    skipped: plan.rebuild.filter((r) => r.status === 'skipped').length,
  });

  if (s.execute) await actOnPlan(ctx, s, plan, started + header.maxDurationMs);

  const elapsed = Date.now() - started;
  const leftBehind = plan.rebuild.flatMap((r) => r.leftBehind ?? []);
  let exitCode = exitCodeOf([...plan.leftovers, ...plan.rebuild].map((x) => x.status));
  if (exitCode === ExitCode.OK && leftBehind.length) exitCode = ExitCode.WARNING;
  const summary = formatResults(plan, s.facts.database, s.execute, elapsed);
  ctx.log.info('done', summary.split('\n').at(-1)!, { exitCode });
  return { exitCode, summary, data: toJson(plan, s.facts.database, s.execute, src.source, header, exitCode, elapsed) };
}

// Drops the leftovers, then rebuilds the planned indexes one at a time; none starts once the deadline has passed.
async function actOnPlan(ctx: TaskContext<'reindex'>, s: MaintenanceSession, plan: ReindexPlan, deadline: number): Promise<void> {
  const o = ctx.options;
  const act: ActOptions = {
    retries: o.lockRetries,
    baseDelayMs: o.lockRetryDelay,
    actionTimeoutMs: o.actionTimeout,
    deadline,
    log: ctx.log,
    signal: ctx.signal,
  };
  for (const l of plan.leftovers.filter((x) => x.status === 'planned')) await dropLeftover(s, l, act);
  for (const item of plan.rebuild.filter((x) => x.status === 'planned')) {
    if (Date.now() >= act.deadline) {
      item.status = 'skipped';
      item.note = `not started: the run reached --max-duration`;
      ctx.log.warn('max-duration', `--max-duration reached: ${item.index.schema}.${item.index.name} and the rest are left for the next run`);
      continue;
    }
    await rebuildIndex(s, item, act);
  }
}

// The --json data of a reindex run.
function toJson(plan: ReindexPlan, database: string, execute: boolean, bloatSource: string, h: { minSize: number; minBloat: number; maxIndexes: number; maxDurationMs: number }, exitCode: number, elapsedMs: number) {
  return {
    ok: exitCode < ExitCode.FAILED,
    exitCode,
    database,
    execute,
    bloatSource,
    minSizeBytes: h.minSize,
    minBloatPercent: h.minBloat,
    maxIndexes: h.maxIndexes,
    maxDurationMs: h.maxDurationMs,
    checked: plan.checked,
    elapsedMs,
    leftovers: plan.leftovers.map((l) => ({
      schema: l.index.schema, table: l.index.table, index: l.index.name, sizeBytes: l.index.size,
      status: l.status, note: l.note ?? null, attempts: l.attempts ?? null, error: l.error ?? null,
    })),
    indexes: plan.rebuild.map((r) => ({
      schema: r.index.schema, table: r.index.table, index: r.index.name, method: r.index.method, reason: r.reason,
      bloatPercent: r.bloat?.percent ?? null, bloatSource: r.bloat?.source ?? null, reclaimEstimateBytes: r.bloat?.reclaimBytes ?? null,
      sizeBefore: r.index.size, sizeAfter: r.sizeAfter ?? null, status: r.status, note: r.note ?? null,
      attempts: r.attempts ?? null, durationMs: r.durationMs ?? null, error: r.error ?? null, leftBehind: r.leftBehind ?? [],
    })),
    unmeasured: plan.unmeasured.map((u) => ({ schema: u.index.schema, index: u.index.name, why: u.why })),
  };
}
