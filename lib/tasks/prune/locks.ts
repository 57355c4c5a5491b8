import { MANIFEST_FILE, SIDECAR_SUFFIX, walFolder } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import { holds, objectLockOf, s3RepoOf, type ObjectLockStore, type StoredVersion, type VersionLock } from '../../repo/s3-object-lock.ts';
import type { SetRemover } from './delete.ts';
import { setKey, type LockHold, type RetentionDecision } from './plan.ts';
import { folderOf, type Prunable } from './prunable.ts';
import type { WalRemover } from './wal.ts';
import type { StoredWalFile, WalExpiry } from './wal-expiry.ts';

// Prune in a repository under S3 object lock (repo init --s3-object-lock). Its bucket is versioned and refuses to
// delete a version under retention, so prune (1) learns which of what the rules would delete is still retained and
// keeps it, saying until when, and (2) deletes the versions of what it prunes (and their delete markers), not the
// keys, which would only add delete markers and free nothing.
//
// What it costs, in requests, for what the rules would delete:
//   a set or base backup: one ListObjectVersions of its folder and one HeadObject of its latest-written version (a
//     set is written in one run, its manifest last: that version is retained longest); when that one is out of
//     retention, a HeadObject of each other version too, since any may hold (a longer default retention of the
//     bucket on the lease, a retention a person extended): at most as many requests as deleting them takes.
//   WAL of a system: one ListObjectVersions of its folder (per 1000 versions), then a binary search over the files
//     in the order they were written for the first whose latest version is retained (log2 n HeadObjects; retentions
//     grow with write time, and a file past the boundary that is in fact deletable only stays to a later run), and a
//     HeadObject of every version of the files before it, as for sets.
// Sets the rules keep cost nothing.

// Object lock's part in one prune run.
export class PruneLocks {
  /** the versions of each set (by setKey) and of each WAL file (by system and name) prune found deletable */
  private readonly setVersions = new Map<string, StoredVersion[]>();
  private readonly walVersions = new Map<string, StoredVersion[]>();
  private readonly seen = new Map<string, VersionLock>();

  private constructor(
    private readonly store: ObjectLockStore,
    private readonly now: Date,
  ) {}

  /** for an s3 repository initialised with --s3-object-lock, else undefined (prune deletes keys, as ever) */
  static of(repo: Repo, now: Date): PruneLocks | undefined {
    return objectLockOf(repo) ? new PruneLocks(s3RepoOf(repo).locks, now) : undefined;
  }

  /** what holds each set the rules would delete, by setKey (for plan.ts keepLocked); remembers the versions of the rest */
  async holdsOfSets<S extends Prunable>(decisions: readonly RetentionDecision<S>[]): Promise<Map<string, LockHold>> {
    const found = new Map<string, LockHold>();
    for (const d of decisions) {
      if (d.action !== 'delete') continue;
      const versions = await this.store.versions(folderOf(d.set));
      const hold = await this.holdOf(versions);
      if (hold) found.set(setKey(d.set), hold);
      else this.setVersions.set(setKey(d.set), versions);
    }
    return found;
  }

  /** what holds each WAL file below the cutoff, by name (for wal-expiry.ts keepLockedWal); remembers the versions of the rest */
  async holdsOfWal(plan: WalExpiry): Promise<Map<string, LockHold>> {
    const found = new Map<string, LockHold>();
    if (plan.doomed.length === 0) return found;
    const byKey = new Map<string, StoredVersion[]>();
    for (const v of await this.store.versions(`${walFolder(plan.systemIdentifier)}/`)) byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
    const files = plan.doomed.map((f) => ({ file: f, versions: f.keys.flatMap((k) => byKey.get(k) ?? []) }));
    const written = (x: (typeof files)[number]) => latest(x.versions)?.modified.getTime() ?? 0;
    files.sort((a, b) => written(a) - written(b));
    // the first file, in write order, whose latest version holds: it and every file after it stay
    let lo = 0;
    let hi = files.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const newest = latest(files[mid].versions);
      if (newest && holds(await this.lockOf(newest), this.now)) hi = mid;
      else lo = mid + 1;
    }
    if (lo < files.length) {
      const first = toHold(await this.lockOf(latest(files[lo].versions)!));
      for (const { file } of files.slice(lo)) found.set(file.name, first);
    }
    for (const { file, versions } of files.slice(0, lo)) {
      const hold = await this.holdOf(versions);
      if (hold) found.set(file.name, hold);
      else this.walVersions.set(walKey(plan.systemIdentifier, file.name), versions);
    }
    return found;
  }

  /** deletes a set's versions: every version of its manifest first (listed again: one may have appeared), then the rest */
  get setRemover(): SetRemover {
    return {
      manifest: async (set) => {
        const key = folderOf(set) + MANIFEST_FILE;
        await this.store.deleteVersions((await this.store.versions(key)).filter((v) => v.key === key));
      },
      rest: async (set) => {
        const key = folderOf(set) + MANIFEST_FILE;
        await this.store.deleteVersions((this.setVersions.get(setKey(set)) ?? (await this.store.versions(folderOf(set)))).filter((v) => v.key !== key));
      },
    };
  }

  /** deletes the versions of a batch of WAL files: every sidecar's first, then the data objects' */
  walRemover(systemIdentifier: string): WalRemover {
    return async (batch: readonly StoredWalFile[]) => {
      const versions = batch.flatMap((f) => this.walVersions.get(walKey(systemIdentifier, f.name)) ?? []);
      await this.store.deleteVersions(versions.filter((v) => v.key.endsWith(SIDECAR_SUFFIX)));
      await this.store.deleteVersions(versions.filter((v) => !v.key.endsWith(SIDECAR_SUFFIX)));
    };
  }

  // What holds a set of versions: the latest-written one's retention when it holds, else the longest of any other
  // version that holds; undefined when none does.
  private async holdOf(versions: readonly StoredVersion[]): Promise<LockHold | undefined> {
    const objects = versions.filter((v) => !v.deleteMarker).sort((a, b) => b.modified.getTime() - a.modified.getTime());
    let hold: LockHold | undefined;
    for (const v of objects) {
      const lock = await this.lockOf(v);
      if (!holds(lock, this.now)) continue;
      const h = toHold(lock);
      // the latest-written version decides when it holds: the others were written before it
      if (v === objects[0]) return h;
      if (!hold || h.legalHold || (!hold.legalHold && Date.parse(h.until!) > Date.parse(hold.until!))) hold = h;
    }
    return hold;
  }

  private async lockOf(v: StoredVersion): Promise<VersionLock> {
    const id = `${v.key}\0${v.versionId}`;
    let lock = this.seen.get(id);
    if (!lock) this.seen.set(id, (lock = await this.store.lockOf(v)));
    return lock;
  }
}

function latest(versions: readonly StoredVersion[]): StoredVersion | undefined {
  let newest: StoredVersion | undefined;
  for (const v of versions) if (!v.deleteMarker && (!newest || v.modified > newest.modified)) newest = v;
  return newest;
}

function toHold(lock: VersionLock): LockHold {
  return lock.legalHold ? { legalHold: true } : { until: lock.until!.toISOString() };
}

function walKey(systemIdentifier: string, name: string): string {
  return `${systemIdentifier}/${name}`;
}
