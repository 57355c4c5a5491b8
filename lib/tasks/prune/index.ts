import { databaseNameOf } from '../../pg/database-name.ts';
import { listDrillReports, verifiedBackupIds } from '../../repo/drill-reports.ts';
import { listSets, type BackupSet } from '../../repo/sets.ts';
import { ExitCode } from '../../errors.ts';
import { openRepo } from '../../repo/open.ts';
import type { Repo } from '../../repo/repo.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { formatSize } from '../../units.ts';
import { deleteSets } from './delete.ts';
import { planRetention, setKey, type RetentionDecision } from './plan.ts';
import { formatPlan, formatTotals } from './report.ts';
import { retentionRules } from './rules.ts';
import { liveWriters } from './writers.ts';

// pgops prune: plans grandfather-father-son retention per database; prints the plan, or with --execute carries it out.
export const prune: TaskHandler<'prune'> = async (ctx) => {
  // Bad arguments are refused before the repository is touched.
  retentionRules(ctx.options);
  databaseNameOf(ctx.options.db);
  const repo = await openRepo(ctx.options.repo, ctx.options, ctx.log, { writer: true });
  try {
    return await pruneWith(repo, ctx);
  } finally {
    await repo.close();
  }
};

// Prune on a repository the caller opened and closes (tests hand in their own).
export async function pruneWith(repo: Repo, ctx: TaskContext<'prune'>): Promise<TaskResult> {
  const { options, log } = ctx;
  const rules = retentionRules(options);
  const database = databaseNameOf(options.db);
  const execute = options.execute;
  const sets = (await listSets(repo, database)).filter((s) => database === undefined || s.database === database);
  const where = `${repo.url}${database === undefined ? '' : ` (database "${database}")`}`;
  if (sets.length === 0) {
    const summary = `no backup sets in ${where}: nothing to prune`;
    log.info('done', summary);
    return { exitCode: ExitCode.OK, summary, data: { ok: true, repo: repo.url, execute, databases: [], deleted: [], freedBytes: 0 } };
  }
  const inspect = sets.filter((s) => s.status === 'unreadable' || s.status === 'damaged');
  for (const s of inspect) {
    if (s.status === 'unreadable') {
      log.warn('unreadable', `backup set ${s.database}/${s.id} has a manifest that cannot be read: kept`, {
        hint: 'inspect it; delete it by hand when its manifest is corrupt, or upgrade pgops when a newer version wrote it',
      });
    } else {
      log.warn('damaged', `backup set ${s.database}/${s.id} is damaged (${s.problem}): kept`, {
        hint: 'something removed or changed files of the set after the backup finished: find out what, then delete the set by hand',
      });
    }
  }

  // the newest backup a restore drill proved is kept whatever the rules say: it is the one on-call restores first
  const reports = await listDrillReports(repo, database);
  const protect = new Map<string, string>();
  for (const db of new Set(sets.map((s) => s.database))) {
    const verified = new Set(verifiedBackupIds(reports, db));
    const newest = sets.filter((s) => s.database === db && s.complete && verified.has(s.id)).sort((a, b) => b.time.getTime() - a.time.getTime())[0];
    if (newest) protect.set(setKey(newest), 'newest drill-verified');
  }
  // a set a running backup is still writing is never deleted, whatever the grace
  const writers = await liveWriters(repo, sets, ctx.now(), log);
  const decisions = planRetention(sets, { ...rules, protect, writers }, ctx.now()).sort(
    (a, b) => a.set.database.localeCompare(b.set.database) || b.set.time.getTime() - a.set.time.getTime(),
  );
  const doomed = decisions.filter((d) => d.action === 'delete').map((d) => d.set);
  const plan = `${formatPlan(decisions)}\n\n${formatTotals(decisions)}`;
  log.info('plan', `${formatTotals(decisions)} in ${where}`, { delete: doomed.length, keep: decisions.length - doomed.length });

  // Oldest first: if the run stops half-way, the history is shortened from its old end.
  const deleted = execute ? await deleteSets(repo, [...doomed].sort((a, b) => a.time.getTime() - b.time.getTime()), log, ctx.signal) : [];
  const freedBytes = deleted.reduce((sum, s) => sum + s.size, 0);
  const last = execute
    ? `pruned ${where}: deleted ${deleted.length} set(s) (${formatSize(freedBytes)}), ${decisions.length - deleted.length} kept`
    : 'dry run: nothing deleted; add --execute to delete';
  if (execute) log.info('done', last, { deleted: deleted.length, freedBytes });
  return {
    exitCode: inspect.length > 0 ? ExitCode.WARNING : ExitCode.OK,
    summary: `${plan}\n${last}`,
    data: { ok: true, repo: repo.url, execute, databases: byDatabase(decisions), deleted: deleted.map((s) => s.id), freedBytes },
  };
}

// The --json shape of the decisions: one entry per database.
function byDatabase(decisions: RetentionDecision<BackupSet>[]) {
  const out: { database: string; decisions: { id: string; action: string; reasons: string[]; size: number; complete: boolean; status: string }[] }[] = [];
  for (const d of decisions) {
    let group = out.find((g) => g.database === d.set.database);
    if (!group) out.push((group = { database: d.set.database, decisions: [] }));
    group.decisions.push({ id: d.set.id, action: d.action, reasons: d.reasons, size: d.set.size, complete: d.set.complete, status: d.set.status });
  }
  return out;
}
