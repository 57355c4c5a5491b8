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
import { PruneLocks } from './locks.ts';
import { holdTime, keepLocked, nextDeletable, type RetentionDecision } from './plan.ts';
import { formatPlan, formatTotals, formatWal } from './report.ts';
import { retentionRules } from './rules.ts';
import { planSets } from './sets.ts';
import { deleteWal, planWal } from './wal.ts';
import { keepLockedWal, type WalExpiry } from './wal-expiry.ts';

// pgops prune: plans grandfather-father-son retention per database, the same rules for base backups per system, and
// the expiry of WAL no kept base backup needs; prints the plan, or with --execute carries it out. In a repository
// under S3 object lock, what is still retained stays (locks.ts): that is the lock doing its job, not a failure.
export const prune: TaskHandler<'prune'> = async (ctx) => {
  // Bad arguments are refused before the repository is touched.
  retentionRules(ctx.options);
  databaseNameOf(ctx.options.db);
  const repo = await openRepo(ctx.options.repo, ctx.options, ctx.log, { writer: true, deletesOnly: true });
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

  const locks = PruneLocks.of(repo, now);
  const sets = await planSets(repo, database, rules, now, log);
  const base = await planBaseBackups(repo, rules, now, log);
  // a base backup kept under lock is a kept base backup: the WAL it needs stays with it
  if (locks) {
    sets.decisions = keepLocked(sets.decisions, await locks.holdsOfSets(sets.decisions));
    base.decisions = keepLocked(base.decisions, await locks.holdsOfSets(base.decisions));
  }
  let wal = await planWal(repo, base.backups, base.decisions);
  if (locks) {
    const held: WalExpiry[] = [];
    for (const w of wal) held.push(keepLockedWal(w, await locks.holdsOfWal(w)));
    wal = held;
  }
  if (sets.decisions.length === 0 && base.decisions.length === 0 && wal.length === 0) {
    const summary = `no backup sets in ${where}: nothing to prune`;
    log.info('done', summary);
    return { exitCode: ExitCode.OK, summary, data: { ok: true, repo: repo.url, execute, databases: [], deleted: [], freedBytes: 0, basebackups: [], basebackupsDeleted: [], wal: [] } };
  }

  const physical = base.decisions.length > 0 || wal.length > 0;
  const doomedSets = doomed(sets.decisions);
  const doomedBase = doomed(base.decisions);
  const locked = locks ? lockedSummary(sets.decisions, base.decisions, wal) : undefined;
  const plan = planText(sets.decisions, base.decisions, wal, where, database !== undefined) + (locked ? `\n${locked.line}` : '');
  log.info('plan', `${totalsLine(sets.decisions, base.decisions, wal, physical)} in ${where}`, {
    delete: doomedSets.length,
    keep: sets.decisions.length - doomedSets.length,
    ...(physical ? { deleteBasebackups: doomedBase.length, deleteWalFiles: wal.reduce((s, w) => s + w.doomed.length, 0) } : {}),
    ...(locked ? { locked: locked.json } : {}),
  });

  // Logical sets, then base backups, then WAL, each oldest first: if the run stops half-way, the history is
  // shortened from its old end, and no kept base backup ever misses WAL (only WAL below every kept one goes, and
  // only after the base backups planned to go are gone).
  const oldestFirst = <S extends { time: Date }>(xs: S[]) => [...xs].sort((a, b) => a.time.getTime() - b.time.getTime());
  const deleted = execute ? await deleteSets(repo, oldestFirst(doomedSets), log, ctx.signal, locks?.setRemover) : [];
  const deletedBase = execute ? await deleteSets(repo, oldestFirst(doomedBase), log, ctx.signal, locks?.setRemover) : [];
  const walDeleted = new Map<string, { files: number; bytes: number }>();
  if (execute) for (const w of wal) walDeleted.set(w.systemIdentifier, await deleteWal(repo, w, log, ctx.signal, locks?.walRemover(w.systemIdentifier)));

  const setBytes = deleted.reduce((sum, s) => sum + s.size, 0);
  const baseBytes = deletedBase.reduce((sum, s) => sum + s.size, 0);
  const walFiles = [...walDeleted.values()].reduce((s, w) => s + w.files, 0);
  const walBytes = [...walDeleted.values()].reduce((s, w) => s + w.bytes, 0);
  const freedBytes = setBytes + baseBytes + walBytes;
  const physicalDone = physical ? `; ${deletedBase.length} base backup(s) (${formatSize(baseBytes)}), ${base.decisions.length - deletedBase.length} kept; ${walFiles} WAL file(s) (${formatSize(walBytes)})` : '';
  const last = execute
    ? `pruned ${where}: deleted ${deleted.length} set(s) (${formatSize(setBytes)}), ${sets.decisions.length - deleted.length} kept${physicalDone}`
    : 'dry run: nothing deleted; add --execute to delete';
  if (execute) log.info('done', last, { deleted: deleted.length, deletedBasebackups: deletedBase.length, deletedWalFiles: walFiles, freedBytes, ...(locked ? { locked: locked.json } : {}) });
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
      ...(locked ? { objectLock: locked.json } : {}),
    },
  };
}

// What object lock keeps that the rules would delete, in a line for the plan and for --json: counts, and the moment
// the next of them becomes deletable (a legal hold has none).
function lockedSummary(sets: RetentionDecision<BackupSet>[], base: RetentionDecision<BaseBackup>[], wal: WalExpiry[]) {
  const held = [...sets, ...base].filter((d) => d.lock);
  const lockedSets = sets.filter((d) => d.lock).length;
  const lockedBase = base.filter((d) => d.lock).length;
  const walFiles = wal.reduce((s, w) => s + (w.locked?.files ?? 0), 0);
  const next = nextDeletable([...held.map((d) => d.lock), ...wal.map((w) => (w.locked?.next ? { until: w.locked.next } : undefined))]);
  const json = { sets: lockedSets, basebackups: lockedBase, walFiles, nextDeletableAt: next ?? null };
  if (lockedSets + lockedBase + walFiles === 0) return { json, line: 'object lock: nothing the rules would delete is still retained' };
  const what = [`${lockedSets} set(s)`, ...(base.length || lockedBase ? [`${lockedBase} base backup(s)`] : []), ...(wal.length ? [`${walFiles} WAL file(s)`] : [])].join(', ');
  return { json, line: `object lock keeps ${what} the rules would delete${next ? `; the next becomes deletable at ${next}` : ''} (run prune again then)` };
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
  const out: (K & { decisions: { id: string; action: string; reasons: string[]; size: number; complete: boolean; status: string; lockedUntil?: string | null; legalHold?: boolean }[] })[] = [];
  for (const d of decisions) {
    const key = keyOf(d.set);
    let group = out.find((g) => Object.entries(key).every(([k, v]) => (g as Record<string, unknown>)[k] === v));
    if (!group) out.push((group = { ...key, decisions: [] }));
    group.decisions.push({
      id: d.set.id,
      action: d.action,
      reasons: d.reasons,
      size: d.set.size,
      complete: d.set.complete,
      status: d.set.status,
      ...(d.lock ? { lockedUntil: d.lock.until ? holdTime(d.lock.until) : null, ...(d.lock.legalHold ? { legalHold: true } : {}) } : {}),
    });
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
    ...(w.locked ? { locked: w.locked } : {}),
    ...(deleted ? { deleted } : {}),
  };
}
