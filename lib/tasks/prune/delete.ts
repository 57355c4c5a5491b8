import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { MANIFEST_FILE } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import { formatSize } from '../../units.ts';
import { folderOf, kindOf, logFields, nameOf, pathOf, type Prunable } from './prunable.ts';

// How a set's objects are deleted: its manifest, then the rest. By key (the repository's delete), or under object lock
// every version of them (locks.ts).
export interface SetRemover {
  manifest(set: Prunable): Promise<void>;
  rest(set: Prunable): Promise<void>;
}

// Deletes the keys of a set: the manifest's, then those the listing saw.
export function keyRemover(repo: Repo): SetRemover {
  return {
    manifest: (set) => repo.delete([folderOf(set) + MANIFEST_FILE]),
    rest: (set) => repo.delete(set.objects.map((o) => o.key).filter((k) => k !== folderOf(set) + MANIFEST_FILE)),
  };
}

// Deletes the sets (or base backups) one after another, each one's manifest first, so a half-deleted set is never
// taken for complete. Stops at the first failure (or on abort) and throws, saying which were deleted and which not.
export async function deleteSets<S extends Prunable>(repo: Repo, sets: readonly S[], log: Logger, signal?: AbortSignal, remover: SetRemover = keyRemover(repo)): Promise<S[]> {
  const deleted: S[] = [];
  for (const set of sets) {
    let manifestGone = false;
    try {
      signal?.throwIfAborted();
      log.info('delete', `deleting ${nameOf(set)} (${formatSize(set.size)}, ${set.status})`, { ...logFields(set), bytes: set.size });
      // Always first and on its own, even when the listing saw no manifest: one may have appeared since.
      await remover.manifest(set);
      manifestGone = true;
      await remover.rest(set);
    } catch (err) {
      throw stopped(set, err, manifestGone, deleted, sets.slice(deleted.length + 1), log);
    }
    deleted.push(set);
  }
  return deleted;
}

// The error a stopped prune throws; the log entry lists every id, the message only counts them.
function stopped(set: Prunable, err: unknown, manifestGone: boolean, deleted: Prunable[], rest: Prunable[], log: Logger): PgopsError {
  const kind = `${kindOf(set)}(s)`;
  log.error('delete-stopped', `stopped at ${nameOf(set)}: ${deleted.length} ${kind} deleted, ${rest.length + 1} not (or not wholly) deleted`, {
    deleted: deleted.map(pathOf),
    failed: pathOf(set),
    notDeleted: rest.map(pathOf),
  });
  const what = manifestGone
    ? `${kindOf(set)} ${pathOf(set)} lost its manifest but not all its files: it now counts as incomplete and a later prune removes it`
    : `nothing of ${kindOf(set)} ${pathOf(set)} was deleted`;
  return new PgopsError(
    `deleting ${nameOf(set)} failed: ${messageOf(err)} (${deleted.length} ${kind} deleted before it, ${rest.length} more not deleted)`,
    { code: ExitCode.FAILED, hint: `${what}; fix the cause and run pgops prune --execute again`, cause: err },
  );
}
