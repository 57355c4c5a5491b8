import path from 'node:path';
import { ExitCode, PgopsError } from '../../errors.ts';
import { classifyKey, walFolder } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import { checkContinuity, type ArchivedFile, type Continuity } from '../../wal/continuity.ts';
import { timelineOfSegment, type TimelineSpan } from '../../wal/history.ts';
import { formatLsn, historyFileName, isValidSegmentSize, parseLsn, parseWalFileName, segmentName, segmentNumber, segmentOfLsn } from '../../wal/names.ts';
import { readSidecar } from '../wal/archived.ts';
import { archiveFiles, archivedChain, endSegment } from '../wal/check/repository.ts';
import { SealedRepo } from '../../repo/sealed.ts';

// What recovery will find in the archive (wal/<system identifier>/) for one base backup: the timelines it follows,
// where the archive ends, and whether every segment from the backup's first one to that end is there.

// The end of the archive: the newest archived segment on the timelines recovery follows.
export interface ArchiveEnd {
  segment: string;
  timeline: number;
  /** the LSN where the last archived segment ends */
  lsn: string;
  /** when its sidecar was written: every record in it is older, later ones are not archived yet */
  archivedAt: Date;
}

// What recovery from one base backup finds in the archive.
export interface ArchiveFacts {
  segmentSize: number;
  /** the timelines recovery follows (recovery_target_timeline latest), oldest first */
  chain: TimelineSpan[];
  end: ArchiveEnd;
  /** from the backup's first segment to the end */
  continuity: Continuity;
  /** when a segment's sidecar was written, by segment name */
  archivedAt: (segment: string) => Date | undefined;
}

// The WAL segment sizes for which a base backup's start LSN lies in its start segment: one, unless the start lies in
// the first megabyte of a 4 GB "log" (then every size fits), or none for a damaged manifest.
export function segmentSizesOf(lsn: string, segment: string): number[] {
  const f = parseWalFileName(segment);
  if (!f || f.kind !== 'segment') return [];
  const at = parseLsn(lsn);
  const sizes: number[] = [];
  for (let size = 1024 * 1024; size <= 1024 ** 3; size *= 2) {
    if (isValidSegmentSize(size) && segmentName(f.timeline, segmentOfLsn(at, size), size) === segment) sizes.push(size);
  }
  return sizes;
}

// The archive's segment size: the size the first segment's sidecar lists (the uncompressed file), else the one the
// backup's start allows, else PostgreSQL's default of 16 MB.
async function segmentSizeFor(repo: Repo, systemId: string, backup: { id: string; startLsn: string; firstSegment: string }): Promise<number> {
  const sizes = segmentSizesOf(backup.startLsn, backup.firstSegment);
  if (sizes.length === 0) {
    throw new PgopsError(`base backup ${backup.id} names start ${backup.startLsn} in ${backup.firstSegment}, which fits no WAL segment size`, { code: ExitCode.INTEGRITY, hint: 'the manifest is damaged: use another base backup (pgops backups list)' });
  }
  if (sizes.length === 1) return sizes[0];
  const sidecar = await readSidecar(repo, systemId, backup.firstSegment).catch(() => undefined);
  if (sidecar && sizes.includes(sidecar.size)) return sidecar.size;
  return sizes.includes(16 * 1024 * 1024) ? 16 * 1024 * 1024 : sizes[0];
}

// The timeline recovery ends on, as PostgreSQL's findNewestTimeLine finds it for recovery_target_timeline latest:
// from the backup's timeline up, as long as the next timeline's history file is archived.
export function newestTimeline(files: ReadonlyMap<string, ArchivedFile>, from: number): number {
  let t = from;
  while (files.get(historyFileName(t + 1))?.complete) t += 1;
  return t;
}

// Reads the archive of one system as recovery from a backup (its timeline, start LSN and first segment) will see it.
export async function archiveFacts(repo: Repo, systemId: string, backup: { id: string; timeline: number; startLsn: string; firstSegment: string }): Promise<ArchiveFacts> {
  const folder = `${repo.url.replace(/\/$/, '')}/${walFolder(systemId)}/`;
  const segmentSize = await segmentSizeFor(repo, systemId, backup);
  const objects = await repo.list(`${walFolder(systemId)}/`);
  const files = archiveFiles(objects, repo instanceof SealedRepo);
  const sidecarTimes = new Map<string, Date>();
  for (const o of objects) {
    const k = classifyKey(path.posix.basename(o.key));
    if (k?.role === 'sidecar') sidecarTimes.set(k.name, o.modified);
  }
  const timeline = newestTimeline(files, backup.timeline);
  const { chain, problem } = await archivedChain(repo, systemId, timeline);
  if (problem) throw new PgopsError(`${folder}: ${problem}`, { code: ExitCode.INTEGRITY, hint: 'the archive is damaged: restore the history file from another copy, or remove the timelines after the one you need' });
  const start = parseLsn(backup.startLsn);
  const own = chain.find((s) => s.timeline === backup.timeline);
  if (!own || (own.end !== undefined && own.end <= start)) {
    throw new PgopsError(
      `the archive's newest timeline ${timeline} does not descend from base backup ${backup.id}: ${own ? `timeline ${backup.timeline} ends at ${formatLsn(own.end!)}, before the backup's start ${backup.startLsn}` : `its history (${historyFileName(timeline)}) does not go through timeline ${backup.timeline}`}`,
      { code: ExitCode.UNKNOWN, hint: `PostgreSQL would refuse this recovery (recovery_target_timeline latest): recover from a base backup taken on timeline ${timeline}, or move the later history files aside` },
    );
  }
  const complete = new Map([...files].filter(([, f]) => f.complete));
  const endSegno = endSegment(null, chain, segmentSize, complete);
  const first = segmentNumber(parseWalFileName(backup.firstSegment)!, segmentSize)!;
  if (endSegno === undefined || endSegno < first) {
    throw new PgopsError(`${folder} holds none of the WAL base backup ${backup.id} needs (from ${backup.firstSegment} on)`, {
      code: ExitCode.NOT_FOUND,
      hint: 'archive_command must push into this repository (pgops wal check --repo on the primary proves it), and --system-id, if given, must be the backed-up system',
    });
  }
  const endTimeline = timelineOfSegment(chain, endSegno, segmentSize);
  const segment = segmentName(endTimeline, endSegno, segmentSize);
  const end: ArchiveEnd = {
    segment,
    timeline: endTimeline,
    lsn: formatLsn(BigInt(endSegno + 1) * BigInt(segmentSize)),
    archivedAt: sidecarTimes.get(segment) ?? files.get(segment)!.modified!,
  };
  return { segmentSize, chain, end, continuity: checkContinuity(files, chain, first, endSegno, segmentSize), archivedAt: (s) => sidecarTimes.get(s) };
}

// The LSN where a segment begins.
export function segmentStartLsn(segment: string, segmentSize: number): bigint {
  return BigInt(segmentNumber(parseWalFileName(segment)!, segmentSize)!) * BigInt(segmentSize);
}
