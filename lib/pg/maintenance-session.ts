import type pg from 'pg';
import { ExitCode, PgopsError } from '../errors.ts';
import { connect, displayUrl, parseDbUrl, type ConnInfo } from './connection.ts';
import { takeAdvisoryLock } from './lock.ts';
import { serverFacts, type ServerFacts } from './server.ts';
import type { MaintenanceTask } from '../options.ts';
import type { TaskContext, TaskResult } from '../task.ts';

// What a maintenance task works with: a guarded connection and whether it may change anything.
export interface MaintenanceSession {
  client: pg.Client;
  info: ConnInfo;
  facts: ServerFacts;
  /** false: print the plan and change nothing */
  execute: boolean;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
}

export interface MaintenanceOptions {
  /** a task that only reads (health): runs on a standby too, takes no advisory lock, never executes */
  readOnly?: boolean;
}

// Runs a maintenance task the careful way: refuse a standby, set lock_timeout and statement_timeout, take the
// task's advisory lock (exit 4 when another run holds it), and close the connection whatever happens.
// A readOnly task gets a read-only session with the same timeouts instead of the standby refusal and the lock.
export async function withMaintenance(ctx: TaskContext<MaintenanceTask>, task: string, fn: (s: MaintenanceSession) => Promise<TaskResult>, opts: MaintenanceOptions = {}): Promise<TaskResult> {
  const o = ctx.options;
  const info = parseDbUrl(o.db, ctx.env);
  const client = await connect(info, `pgops ${task}`);
  try {
    const facts = await serverFacts(client);
    if (facts.inRecovery && !opts.readOnly) {
      throw new PgopsError(`${displayUrl(info)} is a standby (in recovery): ${task} changes a database and runs on the primary only`, {
        code: ExitCode.UNKNOWN,
        hint: 'point --db at the primary',
      });
    }
    const lockTimeoutMs = Math.round(o.lockTimeout);
    const statementTimeoutMs = Math.round(o.statementTimeout);
    await client.query(`SET lock_timeout = ${lockTimeoutMs}`);
    await client.query(`SET statement_timeout = ${statementTimeoutMs}`);
    if (opts.readOnly) {
      await client.query('SET default_transaction_read_only = on');
      return await fn({ client, info, facts, execute: false, lockTimeoutMs, statementTimeoutMs });
    }
    await takeAdvisoryLock(client, `pgops ${task}`);
    const execute = o.execute;
    if (!execute) ctx.log.info('dry-run', `${task}: dry run, nothing will be changed; add --execute to act`);
    return await fn({ client, info, facts, execute, lockTimeoutMs, statementTimeoutMs });
  } finally {
    await client.end().catch(() => {});
  }
}
