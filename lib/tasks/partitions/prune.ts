import { confirmOnTerminal } from '../../confirm.ts';
import { ExitCode, PgopsError, messageOf, usageError, type ExitCodeValue } from '../../errors.ts';
import { cancelOnAbort } from '../../pg/cancel-on-abort.ts';
import { isLockConflict } from '../../pg/lock-retry.ts';
import { displayName } from '../../pg/display-name.ts';
import { describePgError } from '../../pg/describe-error.ts';
import { findPgTool } from '../../pg/binaries.ts';
import { childAuth, libpqConnString } from '../../pg/connection.ts';
import { openRepo } from '../../repo/open.ts';
import type { Repo } from '../../repo/repo.ts';
import type { TaskContext, TaskHandler } from '../../task.ts';
import { archivePartition } from './archive.ts';
import { TableProblem, readTable, type Partition, type PartitionedTable } from './catalog.ts';
import { pruneCutoff, pruneSelection, rangeText, wallClock, type Interval } from './periods.ts';
import { intervalFor, withPartitions, type PartitionsRun } from './session.ts';

// One partition the plan prunes, with the statements that do it.
export interface PruneStep {
  partition: string;
  schema: string;
  name: string;
  bound: string;
  range: string;
  /** finalize: complete a detach that an interrupted DETACH ... CONCURRENTLY left pending */
  detach: 'concurrently' | 'plain' | 'finalize';
  detachSql: string;
  dropSql?: string;
  archive: boolean;
  done: string[];
  archived?: { key: string; sha256: string; size: number };
}

export interface PrunePlan {
  table: string;
  schema: string;
  name: string;
  interval?: Interval;
  intervalHow?: string;
  cutoff?: string;
  status: 'ok' | 'failed';
  steps: PruneStep[];
  kept: number;
  newest?: string;
  error?: string;
  hint?: string;
}

// pgops partitions prune: detach (default) or drop the partitions older than --keep periods, never the newest.
export const partitionsPrune: TaskHandler<'partitions-prune'> = async (ctx) => {
  const o = ctx.options;
  const keep = o.keepPeriods;
  if (keep === undefined) throw usageError('partitions prune needs --keep N', 'give the number of periods before the current one to keep, e.g. --keep 12 for a year of monthly partitions');
  const repo = o.archive ? await openRepo(o.repo, o, ctx.log, { writer: true }) : undefined;
  try {
    if (repo && o.execute) await repo.check();
    return await withPartitions(ctx, 'partitions-prune', async (run) => {
      const plans: PrunePlan[] = [];
      for (const t of run.tables) {
        const plan = await planTable(run, t.schema, t.name, keep, o.interval, o.drop, Boolean(repo));
        plans.push(plan);
        if (!run.s.execute) continue;
        // the plan goes to the log before anything is done; a dry run prints it once, in the summary
        for (const line of pruneText(plan, false)) ctx.log.info('plan', line);
        if (plan.status !== 'ok' || !plan.steps.length) continue;
        // dropping loses rows: a person at a terminal types the database's name first (cron is not asked)
        if (o.drop) await confirmOnTerminal(ctx.terminal, `drop ${plan.steps.length} partition(s) of ${plan.table}${repo ? ', each archived first' : ' (no --archive: their rows are gone)'}`, run.s.info.database, ctx.signal);
        await executeTable(ctx, run, plan, repo);
      }
      const failed = plans.filter((p) => p.status === 'failed').length;
      const steps = plans.flatMap((p) => p.steps);
      const verb = o.drop ? 'drop' : 'detach';
      const head = run.s.execute ? 'partitions prune' : 'partitions prune: dry run, nothing was changed (add --execute to act)';
      const tail = run.s.execute
        ? `${steps.filter((s) => s.done.includes(verb === 'drop' ? 'dropped' : 'detached')).length} of ${steps.length} partition(s) ${verb === 'drop' ? 'dropped' : 'detached'}${failed ? `; ${failed} table(s) failed` : ''}`
        : `${steps.length} partition(s) to ${verb}${repo ? ' after archiving' : ''}${failed ? `; ${failed} table(s) failed` : ''}`;
      return {
        exitCode: (failed ? 2 : 0) as ExitCodeValue,
        summary: [head, ...plans.flatMap((p) => pruneText(p, run.s.execute)), tail].join('\n'),
        data: { execute: run.s.execute, now: wallClock(run.now.getTime(), true), timezone: run.zone, keep, drop: o.drop, archive: Boolean(repo), repo: repo?.url ?? null, tables: plans },
      };
    });
  } finally {
    await repo?.close();
  }
};

// Plans one table's steps: the partitions older than the kept periods, each archived, detached and maybe dropped.
async function planTable(run: PartitionsRun, schema: string, name: string, keep: number, interval: Interval | undefined, drop: boolean, archive: boolean): Promise<PrunePlan> {
  const plan: PrunePlan = { table: displayName(schema, name), schema, name, status: 'ok', steps: [], kept: 0 };
  try {
    const table = await readTable(run.s.client, schema, name, run.zone);
    const chosen = intervalFor(table, interval);
    plan.interval = chosen.interval;
    plan.intervalHow = chosen.how;
    const cutoff = pruneCutoff(run.now, chosen.interval, keep);
    plan.cutoff = wallClock(cutoff.getTime());
    const pending = table.partitions.filter((p) => p.detachPending);
    const { prune, newest } = pruneSelection(table.partitions.filter((p) => !p.detachPending), cutoff);
    plan.newest = newest?.name;
    plan.kept = table.partitions.length - pending.length - prune.length;
    // a DETACH ... CONCURRENTLY cut short leaves the partition pending; FINALIZE completes it, whatever its age
    for (const p of pending) plan.steps.push(await step(run, table, p, 'finalize', drop, false));
    // CONCURRENTLY cannot be used while the table has a default partition (nor before PostgreSQL 14)
    const mode = table.defaultPartition || run.s.facts.major < 14 ? 'plain' : 'concurrently';
    const nested = archive ? prune.find((p) => p.partitioned) : undefined;
    if (nested) {
      // pg_dump -t of a partitioned table dumps no rows of its partitions: archiving it would archive nothing
      throw new TableProblem(`${displayName(nested.schema, nested.name)} is itself partitioned: --archive cannot dump it with pg_dump -t`, {
        code: ExitCode.FAILED,
        hint: 'archive its partitions by hand (pg_dump -t for each), then prune without --archive',
      });
    }
    for (const p of prune) plan.steps.push(await step(run, table, p, mode, drop, archive));
  } catch (err) {
    plan.status = 'failed';
    plan.error = messageOf(err);
    plan.hint = err instanceof PgopsError ? err.hint : undefined;
  }
  return plan;
}

async function step(run: PartitionsRun, table: PartitionedTable, p: Partition, detach: PruneStep['detach'], drop: boolean, archive: boolean): Promise<PruneStep> {
  const suffix = { concurrently: ' CONCURRENTLY', plain: '', finalize: ' FINALIZE' }[detach];
  const { rows } = await run.s.client.query<{ detach: string; drop: string }>(
    `SELECT format('ALTER TABLE %I.%I DETACH PARTITION %I.%I', $1::text, $2::text, $3::text, $4::text) || $5::text AS detach,
            format('DROP TABLE %I.%I', $3::text, $4::text) AS drop`,
    [table.schema, table.name, p.schema, p.name, suffix],
  );
  return {
    partition: displayName(p.schema, p.name),
    schema: p.schema,
    name: p.name,
    bound: p.bound,
    range: rangeText(p),
    detach,
    detachSql: rows[0].detach,
    dropSql: drop ? rows[0].drop : undefined,
    archive,
    done: [],
  };
}

// Carries out a table's steps in order, each partition archived, then detached, then dropped; stops at the first error.
async function executeTable(ctx: TaskContext<'partitions-prune'>, run: PartitionsRun, plan: PrunePlan, repo: Repo | undefined): Promise<void> {
  const { client, info, facts } = run.s;
  const auth = repo ? childAuth(info, ctx.env) : undefined;
  try {
    const pgDump = repo ? await findPgTool('pg_dump', { pgBin: ctx.options.pgBin, minMajor: facts.major }) : undefined;
    // an interrupted run (SIGINT, SIGTERM) cancels the running statement and starts no further step
    const sql = (text: string) => cancelOnAbort(info, client, ctx.signal, ctx.log, () => client.query(text));
    for (const s of plan.steps) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (s.archive && repo && pgDump && auth) {
        ctx.log.info('archive', `archiving ${s.partition} ${s.range} into ${repo.url}`);
        const est = await client.query<{ n: string }>(
          `SELECT greatest(c.reltuples, 0)::bigint::text AS n FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = $1 AND c.relname = $2`,
          [s.schema, s.name],
        );
        const record = await archivePartition({
          repo,
          pgDump,
          connString: libpqConnString(info),
          env: auth.env,
          signal: ctx.signal,
          lockTimeoutMs: run.s.lockTimeoutMs,
          database: facts.database,
          server: { version: facts.version, systemIdentifier: facts.systemIdentifier },
          table: { schema: plan.schema, name: plan.name },
          partition: { schema: s.schema, name: s.name, bound: s.bound, estimatedRows: Number(est.rows[0]?.n ?? 0) },
          now: ctx.now(),
        });
        s.archived = { key: record.dump.key, sha256: record.dump.sha256, size: record.dump.size };
        s.done.push('archived');
      }
      ctx.log.info('detach', `detaching ${s.partition}: ${s.detachSql}`, { sql: s.detachSql });
      await sql(s.detachSql);
      s.done.push('detached');
      if (s.dropSql) {
        ctx.log.info('drop', `dropping ${s.partition}: ${s.dropSql}`, { sql: s.dropSql });
        await sql(s.dropSql);
        s.done.push('dropped');
      }
    }
  } catch (err) {
    plan.status = 'failed';
    plan.error = describePgError(err);
    plan.hint = err instanceof PgopsError && err.hint
      ? err.hint
      : isLockConflict(err)
        ? 'another session held a conflicting lock longer than --lock-timeout: run again later or with a longer --lock-timeout (a half-done concurrent detach is finished by the next run)'
        : 'read the message above; the steps before it were done, the others were not';
  } finally {
    auth?.cleanup();
  }
}

function pruneText(p: PrunePlan, execute: boolean): string[] {
  const head = `${p.table}${p.interval ? ` (${p.interval}, ${p.intervalHow})` : ''}`;
  if (!p.cutoff) return [`${head}: FAILED - ${p.error}`, ...(p.hint ? [`  HINT: ${p.hint}`] : [])];
  const lines = [`${head}: prunes partitions ending on or before ${p.cutoff}; keeps ${p.kept}${p.newest ? ` (newest ${p.newest}, never pruned)` : ''}`];
  for (const s of p.steps) {
    const what = [s.archive ? 'archive' : '', s.detach === 'finalize' ? 'finish detach' : `detach${s.detach === 'concurrently' ? ' concurrently' : ''}`, s.dropSql ? 'drop' : ''].filter(Boolean).join(', ');
    lines.push(`  ${execute ? (s.done.length ? s.done.join(', ') : 'NOT DONE') : what} ${s.partition} ${s.range}${s.archived ? ` -> ${s.archived.key}` : ''}`);
  }
  if (!p.steps.length) lines.push('  nothing to prune');
  if (p.status === 'failed') lines.push(`  FAILED - ${p.error}`, ...(p.hint ? [`  HINT: ${p.hint}`] : []));
  return lines;
}
