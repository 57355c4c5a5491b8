import { ExitCode, PgopsError } from '../../errors.ts';
import { classifyKey, walFolder } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import { parseWalFileName } from '../../wal/names.ts';

// A segment that is not archived is the end of the archive only when nothing after it is. PostgreSQL takes "not
// found" from restore_command as the end of the WAL: an archive recovery then ends there and, without a target,
// promotes, so a file missing from the middle of the archive would silently cut the history short and start a new
// timeline beside the rest of it. wal fetch asks this only on a miss during an archive recovery (once per
// recovery at its end, not once per segment), so the listing costs nothing on the path that restores files.

// The first archived segment of the same timeline after `name` among the archived names (sidecars: a file is
// archived once its sidecar exists), or undefined when `name` lies past the end of its timeline's archive.
export function firstLaterSegment(name: string, archived: Iterable<string>): string | undefined {
  const missing = parseWalFileName(name);
  if (missing?.kind !== 'segment') return undefined;
  let first: string | undefined;
  for (const other of archived) {
    const f = parseWalFileName(other);
    // names of one timeline sort in segment order: timeline, log and seg are fixed-width upper-case hex
    if (f?.kind !== 'segment' || f.timeline !== missing.timeline || other <= name) continue;
    if (first === undefined || other < first) first = other;
  }
  return first;
}

// The names the WAL folder of a system holds a sidecar for: what fetch can restore.
export async function archivedNames(repo: Repo, systemId: string): Promise<string[]> {
  const folder = `${walFolder(systemId)}/`;
  const names: string[] = [];
  for (const o of await repo.list(folder)) {
    const c = classifyKey(o.key.slice(folder.length));
    if (c?.role === 'sidecar') names.push(c.name);
  }
  return names;
}

// Throws the gap error (FAILED, which restore_command turns into 128 in an archive recovery) when a later segment of
// name's timeline is archived; returns when name is past the end of the archive.
export async function refuseGap(repo: Repo, systemId: string, name: string): Promise<void> {
  const later = firstLaterSegment(name, await archivedNames(repo, systemId));
  if (later === undefined) return;
  const timeline = parseWalFileName(name)!.timeline;
  const where = `${repo.url.replace(/\/$/, '')}/${walFolder(systemId)}/`;
  throw new PgopsError(
    `WAL file ${name} is missing from ${where} while later files of timeline ${timeline} are archived (first after it: ${later}): the archive has a gap; recovery stops here instead of ending early`,
    {
      code: ExitCode.FAILED,
      hint: `find ${name}: the primary's pg_wal (then pgops wal push it), or another copy of the archive; or, to recover only up to the gap on purpose, set a recovery target before it (recovery_target_lsn or recovery_target_time) and start the server again`,
    },
  );
}
