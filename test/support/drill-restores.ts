import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import type { Binding, FollowContext } from '../../tools/runbook-drill/follow.ts';
import { jsonData, runCli, spawnCli } from './cli.ts';
import { binDir, type Cluster } from './cluster.ts';

// What the restore drills share (restore-database, restore-table, disaster-recovery): pgops runs as the schedules
// run them, pgbench's tables, the placeholders of a restore page (the set as an engineer picks it from `pgops backups
// list`), and every table's content, to compare a restored database with its source row for row.

// `pgops ...args` as the schedule runs it, in a process of its own (the S3 SDK reads its credentials from the
// process's environment); its stdout, once it exited 0.
export async function scheduled(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await spawnCli(args, env);
  expect(r.exitCode, `pgops ${args.join(' ')}:\n${r.all}`).toBe(0);
  return r.stdout;
}

// A `pgops backup` of the database into the repository, as the nightly job runs it; its backup id. Into a folder
// repository it runs in this process (the fast drills' start-up is mostly node's), into S3 in a process of its own.
export async function nightlyBackup(db: string, repo: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const args = ['backup', '--db', db, '--repo', repo, '--json'];
  if (!repo.startsWith('file://')) return jsonData(await scheduled(args, env)).backupId;
  const r = await runCli(args, env);
  expect(r.exitCode, r.stderr).toBe(0);
  return jsonData(r.stdout).backupId;
}

// The newest complete set of the database in what a step printed (`pgops backups list`, newest first), as the
// engineer reads it off the table.
function newestCompleteSet(ctx: FollowContext, step: string, database: string): string {
  const listing = ctx.outputs.get(step) ?? '';
  const m = new RegExp(`^${database}\\s+(\\d{8}T\\d{6}Z)\\s+complete\\b`, 'm').exec(listing);
  if (!m) throw new Error(`step ${step} lists no complete set of ${database}:\n${listing}`);
  return m[1];
}

// pgbench on a database of the cluster: its tables (-i -s 1) and its transactions, material no one here wrote.
export function pgbench(cluster: Cluster, database: string, args: string[]): void {
  execFileSync(path.join(binDir(), 'pgbench'), [...args, '-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'root', database], { stdio: ['ignore', 'pipe', 'pipe'] });
}

// The placeholders of a page that restores from a repository: <repo>, <database>, and <backup-id> as the engineer
// reads it off the listing the step `listing` printed.
export function restoreBinds(repo: string, database: string, listing: string): Record<string, Binding> {
  return { repo, database, 'backup-id': (ctx) => newestCompleteSet(ctx, listing, database) };
}

// Every table of the database (outside the catalogs) with its row count and an md5 of its rows in order: two
// databases with the same content have the same map.
export async function tableContents(url: string): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables = await c.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' ORDER BY 1`,
    );
    const out: Record<string, string> = {};
    for (const { name } of tables.rows) {
      const [row] = (await c.query<{ n: string; md5: string | null }>(`SELECT count(*)::text AS n, md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS md5 FROM ${name} t`)).rows;
      out[name] = `${row.n} rows, md5 ${row.md5 ?? '-'}`;
    }
    return out;
  } finally {
    await c.end();
  }
}
