import { ExitCode, PgopsError } from '../../errors.ts';
import { formatLsn, parseLsn, segmentBeforeLsn, segmentName, segmentOfLsn } from '../../wal/names.ts';

// What pgops reads from the two small members of pg_basebackup's tar: backup_label (where and when the backup
// started) and backup_manifest (pg_basebackup's own list of files, and the WAL range the backup needs).

const HINT = 'pg_basebackup sent an archive pgops cannot read: run pg_basebackup -Ft -D /tmp/check by hand and look at backup_label and backup_manifest';

function unreadable(what: string): PgopsError {
  return new PgopsError(`the base backup's ${what}`, { code: ExitCode.FAILED, hint: HINT });
}

// backup_label's lines that pgops records.
export interface BackupLabel {
  /** START WAL LOCATION: where replay starts */
  startLsn: string;
  /** the WAL file START WAL LOCATION names */
  startSegment: string;
  /** START TIME as the server wrote it ("2026-12-01 13:01:00 UTC", in the server's log_timezone) */
  startTime: string;
  startTimeline: number;
  /** BACKUP FROM: primary or standby */
  backupFrom: 'primary' | 'standby';
  /** LABEL */
  label: string;
}

// Parses backup_label; throws naming the line that is missing or malformed.
export function parseBackupLabel(text: string): BackupLabel {
  const lines = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(': ');
    if (colon > 0) lines.set(line.slice(0, colon), line.slice(colon + 2).trim());
  }
  const need = (key: string) => {
    const v = lines.get(key);
    if (v === undefined) throw unreadable(`backup_label has no ${key} line`);
    return v;
  };
  const start = /^([0-9A-F]+\/[0-9A-F]+) \(file ([0-9A-F]{24})\)$/i.exec(need('START WAL LOCATION'));
  if (!start) throw unreadable(`backup_label's START WAL LOCATION "${lines.get('START WAL LOCATION')}" is not "LSN (file NAME)"`);
  const timeline = Number(need('START TIMELINE'));
  if (!Number.isInteger(timeline) || timeline < 1) throw unreadable(`backup_label's START TIMELINE "${lines.get('START TIMELINE')}" is not a timeline`);
  const from = lines.get('BACKUP FROM') ?? 'primary';
  if (from !== 'primary' && from !== 'standby') throw unreadable(`backup_label's BACKUP FROM "${from}" is neither primary nor standby`);
  return { startLsn: formatLsn(parseLsn(start[1])), startSegment: start[2].toUpperCase(), startTime: need('START TIME'), startTimeline: timeline, backupFrom: from, label: lines.get('LABEL') ?? '' };
}

// One entry of backup_manifest's "WAL-Ranges".
export interface WalRange {
  timeline: number;
  startLsn: string;
  endLsn: string;
}

// What pgops takes from backup_manifest: its WAL ranges, and every file it lists with its size (and its sha256, where
// the manifest's checksums are SHA256, as pgops basebackup asks: recover checks the files as it lays them down).
export interface BackupManifestFacts {
  walRanges: WalRange[];
  files: Map<string, number>;
  sha256: Map<string, string>;
}

// Parses pg_basebackup's backup_manifest (JSON, format version 1).
export function parseBackupManifestFacts(text: string): BackupManifestFacts {
  let doc: { 'PostgreSQL-Backup-Manifest-Version'?: unknown; Files?: unknown; 'WAL-Ranges'?: unknown };
  try {
    doc = JSON.parse(text);
  } catch {
    throw unreadable('backup_manifest is not valid JSON');
  }
  if (doc['PostgreSQL-Backup-Manifest-Version'] !== 1) throw unreadable(`backup_manifest has version ${String(doc['PostgreSQL-Backup-Manifest-Version'])}, not 1`);
  if (!Array.isArray(doc['WAL-Ranges']) || doc['WAL-Ranges'].length === 0) throw unreadable('backup_manifest lists no WAL-Ranges');
  if (!Array.isArray(doc.Files)) throw unreadable('backup_manifest lists no Files');
  const walRanges = (doc['WAL-Ranges'] as { Timeline?: unknown; 'Start-LSN'?: unknown; 'End-LSN'?: unknown }[]).map((r) => {
    if (!Number.isInteger(r.Timeline) || typeof r['Start-LSN'] !== 'string' || typeof r['End-LSN'] !== 'string') throw unreadable('backup_manifest has a WAL range without Timeline, Start-LSN and End-LSN');
    return { timeline: r.Timeline as number, startLsn: formatLsn(parseLsn(r['Start-LSN'])), endLsn: formatLsn(parseLsn(r['End-LSN'])) };
  });
  const files = new Map<string, number>();
  const sha256 = new Map<string, string>();
  for (const f of doc.Files as { Path?: unknown; 'Encoded-Path'?: unknown; Size?: unknown; 'Checksum-Algorithm'?: unknown; Checksum?: unknown }[]) {
    // a name that is not valid UTF-8 comes hex-encoded as Encoded-Path; the tar member has the raw bytes
    const p = typeof f.Path === 'string' ? f.Path : typeof f['Encoded-Path'] === 'string' ? Buffer.from(f['Encoded-Path'], 'hex').toString('utf8') : undefined;
    if (p === undefined || typeof f.Size !== 'number') throw unreadable('backup_manifest lists a file without Path and Size');
    files.set(p, f.Size);
    if (f['Checksum-Algorithm'] === 'SHA256' && typeof f.Checksum === 'string') sha256.set(p, f.Checksum.toLowerCase());
  }
  return { walRanges, files, sha256 };
}

// The WAL a backup needs to become consistent: from its start segment to the segment holding the last byte before
// the stop LSN (the End-LSN of the last WAL range), on the timelines of the first and last ranges.
export interface BackupWal {
  start: { lsn: string; segment: string; timeline: number };
  stop: { lsn: string; segment: string; timeline: number };
}

// Where the backup starts and stops, as WAL locations and files; checks that label and manifest agree.
export function backupWal(label: BackupLabel, manifest: BackupManifestFacts, segmentSize: number): BackupWal {
  const first = manifest.walRanges[0];
  const last = manifest.walRanges[manifest.walRanges.length - 1];
  const startSegment = segmentName(label.startTimeline, segmentOfLsn(parseLsn(label.startLsn), segmentSize), segmentSize);
  if (startSegment !== label.startSegment) {
    throw unreadable(`backup_label names start segment ${label.startSegment}, but ${label.startLsn} on timeline ${label.startTimeline} lies in ${startSegment} (wal_segment_size ${segmentSize})`);
  }
  if (first.startLsn !== label.startLsn || first.timeline !== label.startTimeline) {
    throw unreadable(`backup_manifest's WAL range starts at ${first.startLsn} on timeline ${first.timeline}, backup_label at ${label.startLsn} on timeline ${label.startTimeline}`);
  }
  const stop = parseLsn(last.endLsn);
  if (stop < parseLsn(label.startLsn)) throw unreadable(`backup_manifest's End-LSN ${last.endLsn} lies before the start ${label.startLsn}`);
  return {
    start: { lsn: label.startLsn, segment: startSegment, timeline: label.startTimeline },
    stop: { lsn: last.endLsn, segment: segmentName(last.timeline, segmentBeforeLsn(stop, segmentSize), segmentSize), timeline: last.timeline },
  };
}

// The files backup_manifest lists that the tar did not hold with the listed size, as one line; undefined when all
// are there. pg_basebackup writes the manifest from what the server sent, so a difference means a torn stream.
export function missingFromTar(manifest: BackupManifestFacts, members: ReadonlyMap<string, number>): string | undefined {
  const wrong: string[] = [];
  for (const [p, size] of manifest.files) {
    const got = members.get(p);
    if (got === undefined) wrong.push(`${p} is missing`);
    else if (got !== size) wrong.push(`${p} has ${got} bytes, backup_manifest lists ${size}`);
    if (wrong.length === 5) break;
  }
  return wrong.length ? wrong.join('; ') : undefined;
}

// The name of the backup history file the server writes at the stop (000000010000000000000002.00000028.backup):
// it is archived like a segment, and names the stop location.
export function backupHistoryFileName(label: BackupLabel, segmentSize: number): string {
  const offset = Number(parseLsn(label.startLsn) % BigInt(segmentSize));
  return `${label.startSegment}.${offset.toString(16).toUpperCase().padStart(8, '0')}.backup`;
}
