import { databaseNameOf } from '../../pg/database-name.ts';
import type { BaseBackup } from '../../repo/basebackups.ts';
import type { BackupSet } from '../../repo/sets.ts';
import { ExitCode } from '../../errors.ts';
import { openRepo } from '../../repo/open.ts';
import type { Repo } from '../../repo/repo.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { formatSize } from '../../units.ts';
import { planBaseBackups } from './basebackups.ts';
import { deleteSets } from './delete.ts';
import type { RetentionDecision } from './plan.ts';
import { formatPlan, formatTotals, formatWal } from './report.ts';
import { retentionRules } from './rules.ts';
import { planSets } from './sets.ts';
import { deleteWal, planWal } from './wal.ts';
import type { WalExpiry } from './wal-expiry.ts';

// pgops prune: plans grandfather-father-son retention per database, the same rules for base backups per system, and
// the expiry of WAL no kept base backup needs; prints the plan, or with --execute carries it out.
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
// --db names a database: it narrows the logical sets only. Base backups and WAL belong to a cluster, so those of
// every system are always planned (the nightly `pgops prune --target main` must expire WAL too).
export async function pruneWith(repo: Repo, ctx: TaskContext<'prune'>): Promise<TaskResult> {
  const { options, log } = ctx;
  const rules = retentionRules(options);
  const database = databaseNameOf(options.db);
  const execute = options.execute;
  const now = ctx.now();
  const where = `${repo.url}${database === undefined ? '' : ` (database "${database}")`}`;

  const sets = await planSets(repo, database, rules, now, log);
  const base = await planBaseBackups(repo, rules, now, log);
  const wal = await planWal(repo, base.backups, base.decisions);
  if (sets.decisions.length === 0 && base.decisions.length === 0 && wal.length === 0) {
    const summary = `no backup sets in ${where}: nothing to prune`;
    log.info('done', summary);
    return { exitCode: ExitCode.OK, summary, data: { ok: true, repo: repo.url, execute, databases: [], deleted: [], freedBytes: 0, basebackups: [], basebackupsDeleted: [], wal: [] } };
  }

  const physical = base.decisions.length > 0 || wal.length > 0;
  const doomedSets = doomed(sets.decisions);
  const doomedBase = doomed(base.decisions);
  const plan = planText(sets.decisions, base.decisions, wal, where, database !== undefined);
  log.info('plan', `${totalsLine(sets.decisions, base.decisions, wal, physical)} in ${where}`, {
    delete: doomedSets.length,
    keep: sets.decisions.length - doomedSets.length,
    ...(physical ? { deleteBasebackups: doomedBase.length, deleteWalFiles: wal.reduce((s, w) => s + w.doomed.length, 0) } : {}),
  });

  // Logical sets, then base backups, then WAL, each oldest first: if the run stops half-way, the history is
  // shortened from its old end, and no kept base backup ever misses WAL (only WAL below every kept one goes, and
  // only after the base backups planned to go are gone).
  const oldestFirst = <S extends { time: Date }>(xs: S[]) => [...xs].sort((a, b) => a.time.getTime() - b.time.getTime());
  const deleted = execute ? await deleteSets(repo, oldestFirst(doomedSets), log, ctx.signal) : [];
  const deletedBase = execute ? await deleteSets(repo, oldestFirst(doomedBase), log, ctx.signal) : [];
  const walDeleted = new Map<string, { files: number; bytes: number }>();
  if (execute) for (const w of wal) walDeleted.set(w.systemIdentifier, await deleteWal(repo, w, log, ctx.signal));

  const setBytes = deleted.reduce((sum, s) => sum + s.size, 0);
  const baseBytes = deletedBase.reduce((sum, s) => sum + s.size, 0);
  const walFiles = [...walDeleted.values()].reduce((s, w) => s + w.files, 0);
  const walBytes = [...walDeleted.values()].reduce((s, w) => s + w.bytes, 0);
  const freedBytes = setBytes + baseBytes + walBytes;
  const physicalDone = physical ? `; ${deletedBase.length} base backup(s) (${formatSize(baseBytes)}), ${base.decisions.length - deletedBase.length} kept; ${walFiles} WAL file(s) (${formatSize(walBytes)})` : '';
  const last = execute
    ? `pruned ${where}: deleted ${deleted.length} set(s) (${formatSize(setBytes)}), ${sets.decisions.length - deleted.length} kept${physicalDone}`
    : 'dry run: nothing deleted; add --execute to delete';
  if (execute) log.info('done', last, { deleted: deleted.length, deletedBasebackups: deletedBase.length, deletedWalFiles: walFiles, freedBytes });
  return {
    exitCode: sets.inspect.length + base.inspect.length > 0 ? ExitCode.WARNING : ExitCode.OK,
    summary: `${plan}\n${last}`,
    data: {
      ok: true,
      repo: repo.url,
      execute,
      databases: grouped(sets.decisions, (s) => ({ database: s.database })),
      deleted: deleted.map((s) => s.id),
      freedBytes,
      basebackups: grouped(base.decisions, (s) => ({ systemIdentifier: s.systemIdentifier })),
      basebackupsDeleted: deletedBase.map((s) => s.id),
      wal: wal.map((w) => walJson(w, execute ? walDeleted.get(w.systemIdentifier) : undefined)),
    },
  };
}

const doomed = <S extends BackupSet | BaseBackup>(decisions: readonly RetentionDecision<S>[]) => decisions.filter((d) => d.action === 'delete').map((d) => d.set);

// The plan as text: the sets' table and totals (as before base backups existed), then base backups and WAL.
function planText(sets: RetentionDecision<BackupSet>[], base: RetentionDecision<BaseBackup>[], wal: WalExpiry[], where: string, narrowed: boolean): string {
  const parts: string[] = [];
  if (sets.length) parts.push(formatPlan(sets));
  else parts.push(`no backup sets in ${where}`);
  if (base.length) parts.push(formatPlan(base, 'system'));
  if (wal.length) parts.push(wal.map(formatWal).join('\n'));
  if (narrowed && (base.length || wal.length)) parts.push('base backups and WAL: every system in the repository is planned (--db narrows only the logical sets)');
  parts.push(totalsLine(sets, base, wal, base.length > 0 || wal.length > 0));
  return parts.join('\n\n');
}

// "9 to delete (1.2 kB), 7 kept", and for base backups and WAL, what goes of them.
function totalsLine(sets: RetentionDecision<BackupSet>[], base: RetentionDecision<BaseBackup>[], wal: WalExpiry[], physical: boolean): string {
  const logical = formatTotals(sets);
  if (!physical) return logical;
  const files = wal.reduce((s, w) => s + w.doomed.length, 0);
  const bytes = wal.reduce((s, w) => s + w.doomed.reduce((n, f) => n + f.bytes, 0), 0);
  return `${logical}\n${formatTotals(base, 'base backup')}; ${files} WAL file(s) to delete (${formatSize(bytes)})`;
}

// The --json shape of the decisions: one entry per database (or system).
function grouped<S extends BackupSet | BaseBackup, K extends Record<string, string>>(decisions: RetentionDecision<S>[], keyOf: (s: S) => K) {
  const out: (K & { decisions: { id: string; action: string; reasons: string[]; size: number; complete: boolean; status: string }[] })[] = [];
  for (const d of decisions) {
    const key = keyOf(d.set);
    let group = out.find((g) => Object.entries(key).every(([k, v]) => (g as Record<string, unknown>)[k] === v));
    if (!group) out.push((group = { ...key, decisions: [] }));
    group.decisions.push({ id: d.set.id, action: d.action, reasons: d.reasons, size: d.set.size, complete: d.set.complete, status: d.set.status });
  }
  return out;
}

// One system's WAL plan for --json.
function walJson(w: WalExpiry, deleted: { files: number; bytes: number } | undefined) {
  return {
    systemIdentifier: w.systemIdentifier,
    action: w.doomed.length ? 'delete' : 'keep',
    reason: w.keptBecause ?? null,
    cutoff: w.cutoff ?? null,
    delete: { files: w.doomed.length, bytes: w.doomed.reduce((s, f) => s + f.bytes, 0), first: w.doomed[0]?.name ?? null, last: w.doomed.at(-1)?.name ?? null },
    kept: w.kept,
    ...(deleted ? { deleted } : {}),
  };
}
