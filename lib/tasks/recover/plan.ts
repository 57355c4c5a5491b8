import { ExitCode, PgopsError, usageError } from '../../errors.ts';
import { baseBackupSystem, chooseBaseBackup, listBaseBackups, type BaseBackup, type CompleteBaseBackup } from '../../repo/basebackups.ts';
import { basebackupsFolder } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import { timelineOfSegment, type TimelineSpan } from '../../wal/history.ts';
import { formatLsn, parseLsn, parseWalFileName, segmentName, segmentNumber } from '../../wal/names.ts';
import { archiveFacts, segmentStartLsn, type ArchiveEnd } from './archive.ts';
import { describeTarget, type RecoveryTarget } from './target.ts';

export type { ArchiveEnd } from './archive.ts';

// The base backup, the target and the archive recovery will read, all checked before anything is laid down.
export interface RecoveryPlan {
  systemIdentifier: string;
  backup: CompleteBaseBackup;
  target: RecoveryTarget;
  archiveEnd: ArchiveEnd;
  /** the first WAL file the archive lacks between the backup's start segment and its end, if any (a gap) */
  gap?: string;
  segmentSize: number;
  /** the WAL files replay reads: the backup's first segment to the archive's end (or the gap) */
  wal: { first: string; last: string; segments: number; timelines: number[] };
  /** what could not be checked before replay (an xid or restore point that may lie past a gap) */
  warnings: string[];
}

const ARCHIVE_END_HINT = 'switch WAL on the primary (SELECT pg_switch_wal(), or wait for archive_timeout) and run again, or recover with --target latest';

// The LSN of a restore point that a base backup of the repository created, when that is what the name is.
function restorePointLsn(backups: readonly BaseBackup[], name: string): bigint | undefined {
  const found = backups.find((x) => x.manifest?.restorePoint?.name === name);
  return found ? parseLsn(found.manifest!.restorePoint!.lsn) : undefined;
}

// Whether a base backup became consistent before the target, so that it can be rolled forward to it. For a time
// that is the end of pg_basebackup (after the consistency point), for an LSN the end of its WAL range, for a
// restore point of a base backup its LSN; another restore point, an xid, immediate and latest fit any backup.
function endsBefore(b: CompleteBaseBackup, t: RecoveryTarget, backups: readonly BaseBackup[]): boolean {
  if (t.kind === 'time') return new Date(b.manifest.stop.time).getTime() <= t.time.getTime();
  if (t.kind === 'lsn') return parseLsn(b.manifest.stop.lsn) <= parseLsn(t.lsn);
  if (t.kind === 'name') {
    const point = restorePointLsn(backups, t.name);
    return point === undefined || parseLsn(b.manifest.stop.lsn) <= point;
  }
  return true;
}

// Where a backup ends, for messages.
function endOf(b: CompleteBaseBackup): string {
  return `${b.manifest.stop.lsn} (${b.manifest.stop.time})`;
}

// The base backup --backup names, checked against the target.
function pickBackup(backups: readonly BaseBackup[], which: string, where: string, t: RecoveryTarget): CompleteBaseBackup {
  const fits = (b: CompleteBaseBackup) => endsBefore(b, t, backups);
  if (which === 'latest') {
    if (t.kind === 'name') {
      // the backup whose own restore point it is: the closest one to roll forward from
      const own = backups.find((b): b is CompleteBaseBackup => b.complete && b.manifest?.restorePoint?.name === t.name);
      if (own) return own;
    }
    return chooseBaseBackup(backups, 'latest', where, fits);
  }
  const chosen = chooseBaseBackup(backups, which, where);
  if (fits(chosen)) return chosen;
  let better = '';
  try {
    const fit = chooseBaseBackup(backups, 'latest', where, fits);
    better = `; base backup ${fit.id} (consistent at ${endOf(fit)}) fits: --backup ${fit.id}, or --backup latest`;
  } catch {
    better = '; no base backup of the repository ended before it';
  }
  throw usageError(
    `base backup ${chosen.id} became consistent at ${endOf(chosen)}, after the recovery target ${describeTarget(t)}: a base backup can only be rolled forward${better}`,
    'pick a target after the backup\'s end, or an older base backup (pgops backups list); a logical backup (pgops restore) may be older still',
  );
}

// Picks the base backup (--backup: an id, label:NAME, or latest: the newest that ended before the target) and checks
// the target against it and against the archive: its end (newest segment on the newest timeline) and any gap from
// the backup's first segment on. Throws PgopsError (exit 3 or 5) naming what is wrong.
export async function planRecovery(repo: Repo, o: { systemId?: string; backup: string }, target: RecoveryTarget): Promise<RecoveryPlan> {
  const systemIdentifier = await baseBackupSystem(repo, o.systemId);
  const backups = await listBaseBackups(repo, systemIdentifier);
  const where = `${repo.url.replace(/\/$/, '')}/${basebackupsFolder(systemIdentifier)}`;
  const backup = pickBackup(backups, o.backup, where, target);
  const m = backup.manifest;
  const facts = await archiveFacts(repo, systemIdentifier, { id: backup.id, timeline: m.timeline, startLsn: m.start.lsn, firstSegment: m.wal.first });
  const { end, continuity, segmentSize } = facts;
  const warnings: string[] = [];
  const archiveText = `the archive ends with ${end.segment} (up to ${end.lsn}), archived at ${end.archivedAt.toISOString()}`;

  // past the end of the archive: PostgreSQL would replay all of it and then refuse to finish ("recovery ended before
  // configured recovery target was reached")
  if (target.kind === 'lsn' && parseLsn(target.lsn) > parseLsn(end.lsn)) throw usageError(`the recovery target lsn ${target.lsn} lies past the end of the archive: ${archiveText}`, ARCHIVE_END_HINT);
  if (target.kind === 'time' && target.time.getTime() > end.archivedAt.getTime()) {
    throw usageError(`the recovery target time ${target.text} lies past the end of the archive: ${archiveText}; later transactions are not archived yet`, ARCHIVE_END_HINT);
  }

  const gapRange = continuity.missing[0];
  const gap = gapRange?.first;
  if (gap) {
    const gapLsn = segmentStartLsn(gap, segmentSize);
    const lastNeeded = segmentNumber(parseWalFileName(m.wal.last)!, segmentSize)!;
    const missingText = `WAL file ${gap} is missing from ${repo.url.replace(/\/$/, '')}/wal/${systemIdentifier}/ (${continuity.missingCount} missing between ${continuity.first} and ${continuity.last})`;
    const findHint = `find ${gap} (the primary's pg_wal, another copy of the archive) and put it back with pgops wal push, or recover to a target before it (--target-lsn ${formatLsn(gapLsn - 1n)} or earlier)`;
    if (segmentNumber(parseWalFileName(gap)!, segmentSize)! <= lastNeeded) {
      throw new PgopsError(`${missingText}: base backup ${backup.id} needs it to become consistent (its WAL is ${m.wal.first}..${m.wal.last})`, { code: ExitCode.NOT_FOUND, hint: `find ${gap} (the primary's pg_wal, another copy) and pgops wal push it, or use another base backup` });
    }
    const before = facts.archivedAt(previousName(gap, segmentSize, facts.chain));
    const past =
      target.kind === 'latest' ||
      (target.kind === 'lsn' && parseLsn(target.lsn) >= gapLsn) ||
      (target.kind === 'time' && (!before || target.time.getTime() > before.getTime())) ||
      (target.kind === 'name' && (restorePointLsn(backups, target.name) ?? -1n) >= gapLsn);
    if (past) throw new PgopsError(`${missingText}: replay to ${describeTarget(target)} would have to cross it`, { code: ExitCode.NOT_FOUND, hint: findHint });
    if (target.kind === 'xid' || (target.kind === 'name' && restorePointLsn(backups, target.name) === undefined)) {
      warnings.push(`${missingText}: if ${describeTarget(target)} lies after it, recovery stops there (wal fetch exits 128) instead of reaching the target`);
    }
  }
  const last = gap ? previousName(gap, segmentSize, facts.chain) : end.segment;
  return {
    systemIdentifier,
    backup,
    target,
    archiveEnd: end,
    gap,
    segmentSize,
    wal: { first: m.wal.first, last, segments: gap ? continuity.expected - continuity.missingCount : continuity.expected, timelines: facts.chain.map((c) => c.timeline) },
    warnings,
  };
}

// The segment before a missing one, on the timelines recovery follows.
function previousName(segment: string, segmentSize: number, chain: readonly TimelineSpan[]): string {
  const segno = segmentNumber(parseWalFileName(segment)!, segmentSize)! - 1;
  return segmentName(timelineOfSegment(chain, segno, segmentSize), segno, segmentSize);
}
