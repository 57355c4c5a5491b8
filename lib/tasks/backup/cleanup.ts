import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { LEASE_FILE } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import type { HeldLease } from './lease.ts';

// Removes what a failed backup wrote under its set's prefix, the lease last, and returns the error to throw: err
// itself, or, when the storage could not be listed or the files not removed, err saying what may be left. A failed
// listing is never taken for an empty one.
export async function removeUnfinished(repo: Repo, prefix: string, err: unknown, log: Logger, lease?: HeldLease): Promise<unknown> {
  // a renewal after the removal would bring the lease back
  await lease?.stop();
  let keys: string[];
  try {
    keys = (await repo.list(prefix)).map((o) => o.key);
  } catch (e) {
    return leftBehind(repo, prefix, err, `could not list ${prefix} to remove the unfinished set (${messageOf(e)})`, log);
  }
  if (keys.length === 0) return err;
  log.warn('cleanup', `backup failed: removing the ${keys.length} file(s) it wrote under ${prefix}`, { error: messageOf(err) });
  // the lease goes last: while files are left, it keeps another prune from taking them for a crashed backup's
  const leaseKey = prefix + LEASE_FILE;
  const ordered = [...keys.filter((k) => k !== leaseKey), ...keys.filter((k) => k === leaseKey)];
  try {
    await repo.delete(ordered);
  } catch (e) {
    return leftBehind(repo, prefix, err, `could not remove the unfinished set (${messageOf(e)})`, log);
  }
  return err;
}

// err with what may be left of the unfinished set added to its message, and logged on its own.
function leftBehind(repo: Repo, prefix: string, err: unknown, what: string, log: Logger): PgopsError {
  const where = `${repo.url.replace(/\/+$/, '')}/${prefix}`;
  const note = `${what}; files of the unfinished set may be left under ${where}: no reader uses a set without a manifest, and prune removes it after --incomplete-grace`;
  log.warn('cleanup', note);
  const e = err instanceof PgopsError ? err : undefined;
  return new PgopsError(`${messageOf(err)}; ${note}`, { code: e?.code ?? ExitCode.FAILED, hint: e?.hint, cause: err });
}
