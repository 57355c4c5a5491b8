import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { BaseBackup } from '../../repo/basebackups.ts';
import type { Repo, StoredObject } from '../../repo/repo.ts';
import { formatSize } from '../../units.ts';
import type { RetentionDecision } from './plan.ts';
import { planWalExpiry, storedWalFiles, type KeptBaseBackup, type StoredWalFile, type WalExpiry } from './wal-expiry.ts';

// How many WAL files one delete call takes: between calls the run can be stopped, and the log says how far it got.
const BATCH = 200;

// The WAL plan of every system with archived WAL (wal/<system>/), from the base backups the plan keeps. A system
// whose base backups include one with an unreadable manifest keeps all its WAL: that backup may need any of it.
export async function planWal(repo: Repo, backups: readonly BaseBackup[], decisions: readonly RetentionDecision<BaseBackup>[]): Promise<WalExpiry[]> {
  const bySystem = new Map<string, StoredObject[]>();
  for (const o of await repo.list('wal/')) {
    const parts = o.key.split('/');
    if (parts.length !== 3 || !/^\d+$/.test(parts[1])) continue;
    bySystem.set(parts[1], [...(bySystem.get(parts[1]) ?? []), o]);
  }
  const plans: WalExpiry[] = [];
  for (const [system, objects] of [...bySystem].sort(([a], [b]) => a.localeCompare(b))) {
    const kept: KeptBaseBackup[] = decisions
      .filter((d) => d.set.systemIdentifier === system && d.action === 'keep' && d.set.complete && d.set.manifest)
      .map((d) => ({ id: d.set.id, manifest: d.set.manifest! }));
    const unreadable = backups.find((b) => b.systemIdentifier === system && b.status === 'unreadable');
    const blocked = unreadable ? `base backup ${unreadable.id} has a manifest this pgops cannot read: WAL kept until a person looks at it` : undefined;
    plans.push(planWalExpiry(system, storedWalFiles(system, objects), kept, blocked));
  }
  return plans;
}

// How a batch of WAL files is deleted, each file's sidecar before its data object: by key (the repository's delete,
// in the order of each file's keys), or under object lock every version of them (locks.ts).
export type WalRemover = (batch: readonly StoredWalFile[]) => Promise<void>;

// Deletes the planned WAL files of one system, oldest first, each file's sidecar before its data object: a run that
// stops half-way leaves at worst a data object without its sidecar (not archived, as far as fetch is concerned),
// never a sidecar vouching for a missing file. Throws on the first failure, saying how far it got.
export async function deleteWal(repo: Repo, plan: WalExpiry, log: Logger, signal?: AbortSignal, remove: WalRemover = (batch) => repo.delete(batch.flatMap((f) => f.keys))): Promise<{ files: number; bytes: number }> {
  const done = { files: 0, bytes: 0 };
  if (plan.doomed.length === 0) return done;
  const total = formatSize(plan.doomed.reduce((s, f) => s + f.bytes, 0));
  log.info('delete-wal', `deleting ${plan.doomed.length} WAL file(s) of system ${plan.systemIdentifier} below ${plan.cutoff!.segment} (${total})`, {
    systemIdentifier: plan.systemIdentifier,
    files: plan.doomed.length,
    first: plan.doomed[0].name,
    last: plan.doomed.at(-1)!.name,
  });
  for (let i = 0; i < plan.doomed.length; i += BATCH) {
    const batch = plan.doomed.slice(i, i + BATCH);
    try {
      signal?.throwIfAborted();
      await remove(batch);
    } catch (err) {
      throw new PgopsError(
        `deleting WAL of system ${plan.systemIdentifier} failed: ${messageOf(err)} (${done.files} of ${plan.doomed.length} planned file(s) deleted, oldest first; stopped within ${batch[0].name}..${batch.at(-1)!.name})`,
        { code: ExitCode.FAILED, hint: `what is left is still below ${plan.cutoff!.segment}, which no kept base backup needs: fix the cause and run pgops prune --execute again`, cause: err },
      );
    }
    done.files += batch.length;
    done.bytes += batch.reduce((s, f) => s + f.bytes, 0);
  }
  return done;
}
