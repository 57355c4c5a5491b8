import { databaseNameOf, listSets, setPrefix, type BackupSet } from '../../backup-set.ts';
import { ExitCode } from '../../errors.ts';
import { MANIFEST_FILE } from '../../manifest.ts';
import { openRepo } from '../../repo/open.ts';
import type { Repo } from '../../repo/repo.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { formatSize } from '../../units.ts';
import { deleteSets } from './delete.ts';
import { listDrillReports, verifiedBackupIds } from '../../drill-report.ts';
import { planRetention, type RetentionDecision } from './plan.ts';
import { formatPlan, formatTotals } from './report.ts';
import { retentionRules } from './rules.ts';

type PlannedSet = BackupSet & { unreadable?: string };

// pgops prune: plans grandfather-father-son retention per database; prints the plan, or with --execute carries it out.
export const prune: TaskHandler = async (ctx) => {
  // Bad arguments are refused before the repository is touched.
  retentionRules(ctx.options);
  databaseNameOf(ctx.options.db);
  const repo = await openRepo(ctx.options.repo as string | undefined, ctx.options, ctx.log);
  try {
    return await pruneWith(repo, ctx);
  } finally {
    await repo.close();
  }
};

// Prune on a repository the caller opened and closes (tests hand in their own).
export async function pruneWith(repo: Repo, ctx: TaskContext): Promise<TaskResult> {
  const { options, log } = ctx;
  const rules = retentionRules(options);
  const database = databaseNameOf(options.db);
  const execute = options.execute === true;
  const sets = (await listSets(repo, database)).filter((s) => database === undefined || s.database === database).map(markUnreadable);
  const where = `${repo.url}${database === undefined ? '' : ` (database "${database}")`}`;
  if (sets.length === 0) {
    const summary = `no backup sets in ${where}: nothing to prune`;
    log.info('done', summary);
    return { exitCode: ExitCode.OK, summary, data: { ok: true, repo: repo.url, execute, databases: [], deleted: [], freedBytes: 0 } };
  }
  for (const s of sets.filter((x) => x.unreadable !== undefined)) {
    log.warn('unreadable', `backup set ${s.database}/${s.id} has a manifest that cannot be read: kept`, {
      hint: 'inspect it; delete it by hand when it is damaged, or upgrade pgops when a newer version wrote it',
    });
  }

  // the newest backup a restore drill proved is kept whatever the rules say: it is the one on-call restores first
  const reports = await listDrillReports(repo, database);
  const protect = new Map<string, string>();
  for (const db of new Set(sets.map((s) => s.database))) {
    const verified = new Set(verifiedBackupIds(reports.filter((r) => r.database === db)));
    const newest = sets.filter((s) => s.database === db && s.complete && verified.has(s.id)).sort((a, b) => b.time.getTime() - a.time.getTime())[0];
    if (newest) protect.set(newest.id, 'newest drill-verified');
  }
  const decisions = planRetention(sets, { ...rules, protect }, ctx.now()).sort(
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
  const unreadable = sets.some((s) => s.unreadable !== undefined);
  return {
    exitCode: unreadable ? ExitCode.WARNING : ExitCode.OK,
    summary: `${plan}\n${last}`,
    data: { ok: true, repo: repo.url, execute, databases: byDatabase(decisions), deleted: deleted.map((s) => s.id), freedBytes },
  };
}

// A set whose manifest exists but does not parse is not deleted: it may be damaged, or written by a newer pgops.
function markUnreadable(set: BackupSet): PlannedSet {
  const manifestKey = setPrefix(set.database, set.id) + MANIFEST_FILE;
  const hasManifest = set.objects.some((o) => o.key === manifestKey);
  return !set.complete && hasManifest ? { ...set, unreadable: set.problem ?? 'unreadable' } : set;
}

// The --json shape of the decisions: one entry per database.
function byDatabase(decisions: RetentionDecision<PlannedSet>[]) {
  const out: { database: string; decisions: { id: string; action: string; reasons: string[]; size: number; complete: boolean }[] }[] = [];
  for (const d of decisions) {
    let group = out.find((g) => g.database === d.set.database);
    if (!group) out.push((group = { database: d.set.database, decisions: [] }));
    group.decisions.push({ id: d.set.id, action: d.action, reasons: d.reasons, size: d.set.size, complete: d.set.complete });
  }
  return out;
}
