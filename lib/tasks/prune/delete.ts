import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { setPrefix, MANIFEST_FILE } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import type { BackupSet } from '../../repo/sets.ts';
import { formatSize } from '../../units.ts';

const label = (s: BackupSet) => `${s.database}/${s.id}`;

// Deletes the sets one after another, each one's manifest first, so a half-deleted set is never taken for complete.
// Stops at the first failure (or on abort) and throws, saying which sets were deleted and which not.
export async function deleteSets(repo: Repo, sets: readonly BackupSet[], log: Logger, signal?: AbortSignal): Promise<BackupSet[]> {
  const deleted: BackupSet[] = [];
  for (const set of sets) {
    const manifestKey = setPrefix(set.database, set.id) + MANIFEST_FILE;
    let manifestGone = false;
    try {
      signal?.throwIfAborted();
      log.info('delete', `deleting backup set ${label(set)} (${formatSize(set.size)}, ${set.status})`, {
        database: set.database,
        backupId: set.id,
        bytes: set.size,
      });
      // Always first and on its own, even when the listing saw no manifest: one may have appeared since.
      await repo.delete([manifestKey]);
      manifestGone = true;
      await repo.delete(set.objects.map((o) => o.key).filter((k) => k !== manifestKey));
    } catch (err) {
      throw stopped(set, err, manifestGone, deleted, sets.slice(deleted.length + 1), log);
    }
    deleted.push(set);
  }
  return deleted;
}

// The error a stopped prune throws; the log entry lists every id, the message only counts them.
function stopped(set: BackupSet, err: unknown, manifestGone: boolean, deleted: BackupSet[], rest: BackupSet[], log: Logger): PgopsError {
  log.error('delete-stopped', `stopped at backup set ${label(set)}: ${deleted.length} set(s) deleted, ${rest.length + 1} not (or not wholly) deleted`, {
    deleted: deleted.map(label),
    failed: label(set),
    notDeleted: rest.map(label),
  });
  const what = manifestGone
    ? `set ${label(set)} lost its manifest but not all its files: it now counts as incomplete and a later prune removes it`
    : `nothing of set ${label(set)} was deleted`;
  return new PgopsError(
    `deleting backup set ${label(set)} failed: ${messageOf(err)} (${deleted.length} set(s) deleted before it, ${rest.length} more not deleted)`,
    { code: ExitCode.FAILED, hint: `${what}; fix the cause and run pgops prune --execute again`, cause: err },
  );
}
