import { listBaseBackups } from '../../../repo/basebackups.ts';
import type { Repo } from '../../../repo/repo.ts';
import type { TimelineSpan } from '../../../wal/history.ts';
import { parseWalFileName, segmentNumber } from '../../../wal/names.ts';

// Where --wal-window backup starts: the start segment of the oldest complete base backup in basebackups/<system>/
// (the oldest one prune keeps, and so the oldest moment a recovery can start from), among those on a timeline the
// check follows. Undefined when there is none: the caller falls back to the archive's .backup labels.
export async function baseBackupWindowStart(repo: Repo, systemId: string, chain: readonly TimelineSpan[], segmentSize: number): Promise<{ start: number; basis: string } | undefined> {
  let oldest: { start: number; basis: string } | undefined;
  for (const b of await listBaseBackups(repo, systemId)) {
    if (!b.complete || b.systemIdentifier !== systemId || !chain.some((s) => s.timeline === b.manifest!.timeline)) continue;
    const f = parseWalFileName(b.manifest!.wal.first);
    const segno = f?.kind === 'segment' ? segmentNumber(f, segmentSize) : undefined;
    if (segno === undefined) continue;
    if (!oldest || segno < oldest.start) oldest = { start: segno, basis: `the start of the oldest base backup ${b.id}, ${b.manifest!.wal.first}` };
  }
  return oldest;
}
