import type pg from 'pg';
import { PgopsError, messageOf, type ExitCodeValue } from '../../errors.ts';
import { cancelOnAbort } from '../../pg/cancel-on-abort.ts';
import { isLockConflict } from '../../pg/lock-retry.ts';
import { describePgError } from '../../pg/describe-error.ts';
import { displayIdent, displayName } from '../../pg/display-name.ts';
import { qualified, quoteIdent } from '../../pg/ident.ts';
import type { OptionsOf } from '../../options.ts';
import type { TaskContext, TaskHandler } from '../../task.ts';
import { boundExpr, readTable, type PartitionedTable } from './catalog.ts';
import { checkPattern, defaultPattern, partitionName } from './naming.ts';
import { coverage, periodLabel, periodsToHave, rangeText, wallClock, type Interval, type Period } from './periods.ts';
import { intervalFor, withPartitions, type PartitionsRun } from './session.ts';

// One partition the plan creates.
export interface NewPartition {
  name: string;
  period: string;
  from: string;
  to: string;
  sql: string;
  /** ALTER TABLE ... OWNER TO the parent's owner, when pgops runs as another role (a superuser, a member of the owner role) */
  ownerSql?: string;
  /** GRANT statements giving the partition the parent's table privileges (as pg_partman's inherit_privileges) */
  grantSql?: string[];
}

// What create decides for one table, and what came of it.
export interface CreatePlan {
  table: string;
  schema: string;
  name: string;
  interval?: Interval;
  intervalHow?: string;
  status: 'ok' | 'skipped-periods' | 'blocked' | 'failed';
  create: NewPartition[];
  /** periods that already have partitions */
  existing: number;
  skipped: { period: string; reason: string }[];
  blocked?: { defaultPartition: string; rows: number; range: string; partition: string; fix: string };
  created: string[];
  error?: string;
  hint?: string;
}

// pgops partitions create: the partitions of the current period and the next --ahead ones, for each table.
export const partitionsCreate: TaskHandler<'partitions-create'> = (ctx) =>
  withPartitions(ctx, 'partitions-create', async (run) => {
    const plans: CreatePlan[] = [];
    for (const t of run.tables) {
      const plan = await planTable(run, t.schema, t.name, ctx.options);
      plans.push(plan);
      if (!run.s.execute) continue;
      // the plan goes to the log before anything is done; a dry run prints it once, in the summary
      for (const line of tableText(plan)) ctx.log.info('plan', line);
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (plan.create.length && (plan.status === 'ok' || plan.status === 'skipped-periods')) await createAll(run, plan, ctx);
    }
    const exitCode = plans.reduce<ExitCodeValue>((c, p) => Math.max(c, p.status === 'ok' ? 0 : p.status === 'skipped-periods' ? 1 : 2) as ExitCodeValue, 0);
    const toCreate = plans.reduce((n, p) => n + p.create.length, 0);
    const created = plans.reduce((n, p) => n + p.created.length, 0);
    const bad = plans.filter((p) => p.status === 'blocked' || p.status === 'failed').length;
    const head = run.s.execute ? 'partitions create' : 'partitions create: dry run, nothing was changed (add --execute to create)';
    const tail = run.s.execute
      ? `${created} partition(s) created in ${plans.length} table(s)${bad ? `; ${bad} table(s) blocked or failed` : ''}`
      : `${toCreate} partition(s) to create in ${plans.length} table(s)${bad ? `; ${bad} table(s) blocked or failed` : ''}`;
    return {
      exitCode,
      summary: [head, ...plans.flatMap(tableText), tail].join('\n'),
      data: { execute: run.s.execute, now: wallClock(run.now.getTime(), true), timezone: run.zone, ahead: ctx.options.ahead, tables: plans },
    };
  });

// Plans one table's partitions: the current period and the next --ahead ones that no partition covers yet.
async function planTable(run: PartitionsRun, schema: string, name: string, o: Pick<OptionsOf<'partitions-create'>, 'interval' | 'partitionName' | 'ahead'>): Promise<CreatePlan> {
  const plan: CreatePlan = { table: displayName(schema, name), schema, name, status: 'ok', create: [], existing: 0, skipped: [], created: [] };
  try {
    const table = await readTable(run.s.client, schema, name, run.zone);
    const { interval, how } = intervalFor(table, o.interval);
    plan.interval = interval;
    plan.intervalHow = how;
    const pattern = o.partitionName ?? defaultPattern(interval);
    checkPattern(pattern, interval);
    const taken = await takenNames(run.s.client, schema);
    const free: { period: Period; name: string }[] = [];
    for (const p of periodsToHave(run.now, interval, o.ahead)) {
      const label = periodLabel(p.start, interval);
      const cover = coverage(p, table.partitions);
      if (cover === 'covered') {
        plan.existing++;
        continue;
      }
      if (cover === 'partial') {
        const overlaps = table.partitions.filter((x) => x.from < p.to && x.to > p.from).map((x) => x.name);
        plan.skipped.push({ period: label, reason: `partly covered by ${overlaps.join(', ')}: give the partitions of this table one width, or create this one by hand` });
        continue;
      }
      const partName = partitionName(pattern, name, p.start);
      if (taken.has(partName)) {
        plan.skipped.push({ period: label, reason: `a relation named ${displayName(schema, partName)} exists and is not a partition of this period` });
        continue;
      }
      free.push({ period: p, name: partName });
    }
    if (plan.skipped.length) plan.status = 'skipped-periods';
    if (!free.length) return plan;
    if (table.defaultPartition) {
      const blocked = await defaultRows(run, table, free);
      if (blocked) {
        plan.status = 'blocked';
        plan.blocked = blocked;
        plan.error = `the default partition ${blocked.defaultPartition} holds ${blocked.rows} row(s) in ${blocked.range}, the range of the new partition ${blocked.partition}: nothing was created for ${plan.table}`;
        plan.hint = 'move those rows into their own partition first (the fix below; see runbooks/partitions.md), then run again';
        return plan;
      }
    }
    for (const f of free) plan.create.push(await createStatement(run, table, f.period, f.name, interval));
  } catch (err) {
    plan.status = 'failed';
    plan.error = messageOf(err);
    plan.hint = err instanceof PgopsError ? err.hint : undefined;
  }
  return plan;
}

async function takenNames(client: pg.Client, schema: string): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(`SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1`, [schema]);
  return new Set(rows.map((r) => r.name));
}

// Counts the default partition's rows in each new partition's range; the first range with rows blocks the table.
async function defaultRows(run: PartitionsRun, table: PartitionedTable, free: { period: Period; name: string }[]): Promise<CreatePlan['blocked']> {
  const d = table.defaultPartition!;
  const col = quoteIdent(table.column);
  const zone = `$${2 * free.length + 1}`;
  const filters = free.map((_, i) => `count(*) FILTER (WHERE ${col} >= ${boundExpr(table.keyType, `$${2 * i + 1}`, zone)} AND ${col} < ${boundExpr(table.keyType, `$${2 * i + 2}`, zone)})::int AS c${i}`);
  const params: unknown[] = free.flatMap((f) => [wallClock(f.period.from, true), wallClock(f.period.to, true)]);
  if (table.keyType === 'timestamptz') params.push(run.zone);
  const { rows } = await run.s.client.query<Record<string, number>>(`SELECT ${filters.join(', ')} FROM ${qualified(d.schema, d.name)}`, params);
  const i = free.findIndex((_, k) => rows[0][`c${k}`] > 0);
  if (i < 0) return undefined;
  const f = free[i];
  return { defaultPartition: displayName(d.schema, d.name), rows: rows[0][`c${i}`], range: rangeText(f.period), partition: f.name, fix: await fixSql(run, table, f.period, f.name) };
}

// The CREATE TABLE ... PARTITION OF statement, quoted by the server (format %I and %L) from bound values.
async function createStatement(run: PartitionsRun, table: PartitionedTable, p: Period, name: string, interval: Interval): Promise<NewPartition> {
  const zoneParams = table.keyType === 'timestamptz' ? [run.zone] : [];
  // $7 (the zone) is passed only when the bounds use it: the server refuses a parameter it cannot type
  const { rows } = await run.s.client.query<{ sql: string; owner_sql: string | null; lo: string; hi: string }>(
    `SELECT format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)', $1::text, $2::text, $1::text, $3::text, lo, hi) AS sql,
            CASE WHEN $6::text <> current_user THEN format('ALTER TABLE %I.%I OWNER TO %I', $1::text, $2::text, $6::text) END AS owner_sql,
            lo::text AS lo, hi::text AS hi
       FROM (SELECT ${boundExpr(table.keyType, '$4', '$7')} AS lo, ${boundExpr(table.keyType, '$5', '$7')} AS hi) b`,
    [table.schema, name, table.name, wallClock(p.from, true), wallClock(p.to, true), table.owner, ...zoneParams],
  );
  const r = rows[0];
  const grants = await grantStatements(run.s.client, table.oid, table.schema, name);
  return { name, period: periodLabel(p.start, interval), from: r.lo, to: r.hi, sql: r.sql, ...(r.owner_sql ? { ownerSql: r.owner_sql } : {}), ...(grants.length ? { grantSql: grants } : {}) };
}

// The parent's table privileges, as GRANT statements for a new partition: a partition starts with none, and whoever
// reads or writes it directly (a reporting role, a logical replication publication, a maintenance job) would be
// refused. One statement per grantee and grant option; the owner's own privileges come with ownership.
async function grantStatements(client: pg.Client, parentOid: number, schema: string, name: string): Promise<string[]> {
  const { rows } = await client.query<{ sql: string }>(
    `SELECT format('GRANT %s ON TABLE %I.%I TO %s%s', string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type), $2::text, $3::text,
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                   CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS sql
       FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.oid = $1 AND a.grantee <> c.relowner
      GROUP BY a.grantee, a.is_grantable
      ORDER BY 1`,
    [parentOid, schema, name],
  );
  return rows.map((r) => r.sql);
}

// What to run by hand when the default partition holds rows of a new partition: move them in one transaction. The
// columns are named (a partition attached later may order them otherwise); OVERRIDING SYSTEM VALUE keeps the ids of
// a GENERATED ALWAYS identity column, and a generated column is computed again.
async function fixSql(run: PartitionsRun, table: PartitionedTable, p: Period, name: string): Promise<string> {
  const d = table.defaultPartition!;
  const { rows } = await run.s.client.query<{ sql: string }>(
    `SELECT concat_ws(E'\\n',
        'BEGIN;',
        format('ALTER TABLE %I.%I DETACH PARTITION %I.%I;', $1::text, $2::text, $3::text, $4::text),
        format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L);', $1::text, $5::text, $1::text, $2::text, lo, hi),
        format('INSERT INTO %I.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %I.%I WHERE %I >= %L AND %I < %L;', $1::text, $2::text, cols, cols, $3::text, $4::text, $6::text, lo, $6::text, hi),
        format('DELETE FROM %I.%I WHERE %I >= %L AND %I < %L;', $3::text, $4::text, $6::text, lo, $6::text, hi),
        format('ALTER TABLE %I.%I ATTACH PARTITION %I.%I DEFAULT;', $1::text, $2::text, $3::text, $4::text),
        'COMMIT;') AS sql
       FROM (SELECT ${boundExpr(table.keyType, '$7', '$9')} AS lo, ${boundExpr(table.keyType, '$8', '$9')} AS hi) b,
            -- the columns by name, generated ones left to be computed again, identity values kept as they are
            (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) AS cols
               FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') c`,
    [table.schema, table.name, d.schema, d.name, name, table.column, wallClock(p.from, true), wallClock(p.to, true), ...(table.keyType === 'timestamptz' ? [run.zone] : [])],
  );
  return rows[0].sql;
}

// Creates a table's new partitions in one transaction: all of them or, when one fails, none.
async function createAll(run: PartitionsRun, plan: CreatePlan, ctx: TaskContext<'partitions-create'>): Promise<void> {
  const { client, info } = run.s;
  const log = ctx.log;
  // an interrupted run (SIGINT, SIGTERM) cancels the running statement: the transaction rolls back
  const sql = (text: string) => cancelOnAbort(info, client, ctx.signal, log, () => client.query(text));
  try {
    await client.query('BEGIN');
    for (const p of plan.create) {
      log.info('create', `creating ${displayName(plan.schema, p.name)}: ${p.sql}`, { sql: p.sql });
      await sql(p.sql);
      // a partition belongs to whoever creates it: give it the parent's owner, as if the owner had made it
      if (p.ownerSql) {
        log.info('create', `${p.ownerSql}`, { sql: p.ownerSql });
        await sql(p.ownerSql);
      }
      for (const grant of p.grantSql ?? []) {
        log.info('create', grant, { sql: grant });
        await sql(grant);
      }
    }
    await client.query('COMMIT');
    plan.created = plan.create.map((p) => p.name);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    plan.status = 'failed';
    plan.error = `creating the partitions of ${plan.table} failed, none was created: ${describePgError(err)}`;
    plan.hint = isLockConflict(err)
      ? 'another session held a conflicting lock longer than --lock-timeout: run again later, or with a longer --lock-timeout'
      : 'read the message above; nothing was changed for this table';
  }
}

// The lines of one table in the plan and the summary.
export function tableText(p: CreatePlan): string[] {
  const head = `${p.table}${p.interval ? ` (${p.interval}, ${p.intervalHow})` : ''}`;
  if (p.status === 'failed' && !p.create.length) return [`${head}: FAILED - ${p.error}`, ...(p.hint ? [`  HINT: ${p.hint}`] : [])];
  if (p.status === 'blocked') {
    return [`${head}: BLOCKED - ${p.error}`, `  HINT: ${p.hint}`, ...p.blocked!.fix.split('\n').map((l) => `    ${l}`)];
  }
  const lines = [`${head}: ${p.existing} of ${p.existing + p.create.length + p.skipped.length} periods have partitions`];
  for (const c of p.create) {
    lines.push(`  ${p.created.includes(c.name) ? 'created' : 'create'} ${displayIdent(c.name)} for ${c.period}: FROM ('${c.from}') TO ('${c.to}')${c.ownerSql ? ', owned by the parent\'s owner' : ''}${c.grantSql ? `, with the parent's privileges (${c.grantSql.length} grant${c.grantSql.length === 1 ? '' : 's'})` : ''}`);
  }
  for (const s of p.skipped) lines.push(`  skip ${s.period}: ${s.reason}`);
  if (p.status === 'failed') lines.push(`  FAILED - ${p.error}`, ...(p.hint ? [`  HINT: ${p.hint}`] : []));
  if (!p.create.length && !p.skipped.length) lines.push('  nothing to create');
  return lines;
}
