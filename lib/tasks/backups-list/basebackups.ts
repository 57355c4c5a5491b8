import { formatTable } from '../../plan/table.ts';
import type { BaseBackup } from '../../repo/basebackups.ts';
import { pinState, pinText } from '../../repo/pin.ts';
import { formatSize } from '../../units.ts';

// One base backup as backups list shows it (text and --json).
export interface BaseBackupRow {
  systemIdentifier: string;
  backupId: string;
  status: string;
  size: number;
  timeline: number | null;
  start: { lsn: string; segment: string; time: string } | null;
  stop: { lsn: string; segment: string; time: string } | null;
  wal: { first: string; last: string } | null;
  compression: string | null;
  label: string | null;
  pinnedUntil: string | null;
  pinned: boolean;
  problem: string | null;
}

// The rows of the base backups, per system, newest first.
export function baseBackupRows(backups: readonly BaseBackup[], now: Date): BaseBackupRow[] {
  return [...backups]
    .sort((a, b) => a.systemIdentifier.localeCompare(b.systemIdentifier) || b.time.getTime() - a.time.getTime())
    .map((b) => {
      const m = b.manifest;
      return {
        systemIdentifier: b.systemIdentifier,
        backupId: b.id,
        status: b.status,
        size: b.size,
        timeline: m?.timeline ?? null,
        start: m ? { lsn: m.start.lsn, segment: m.start.segment, time: m.start.time } : null,
        stop: m ? { lsn: m.stop.lsn, segment: m.stop.segment, time: m.stop.time } : null,
        wal: m ? { first: m.wal.first, last: m.wal.last } : null,
        compression: m?.compression ?? null,
        label: m?.label ?? null,
        pinnedUntil: m?.pinnedUntil ?? null,
        pinned: pinState(m?.pinnedUntil, now).state === 'holds',
        problem: b.problem ?? null,
      };
    });
}

// The base backups as a table, with a count line.
export function baseBackupsText(rows: readonly BaseBackupRow[], repoUrl: string, now: Date): string {
  const table = formatTable(
    ['SYSTEM', 'BASE BACKUP ID', 'STATUS', 'SIZE', 'TIMELINE', 'START LSN', 'STOP LSN', 'LABEL', 'PINNED UNTIL', 'CONSISTENT AT'],
    rows.map((r) => [
      r.systemIdentifier,
      r.backupId,
      r.status,
      formatSize(r.size),
      r.timeline === null ? '-' : String(r.timeline),
      r.start?.lsn ?? '-',
      r.stop?.lsn ?? '-',
      r.label ?? '-',
      pinText(r.pinnedUntil, now),
      r.status === 'complete' ? (r.stop?.time ?? '') : (r.problem ?? ''),
    ]),
  );
  const complete = rows.filter((r) => r.status === 'complete').length;
  const damaged = rows.filter((r) => r.status === 'damaged').length;
  return `${table}\n${rows.length} base backup(s), ${complete} complete,${damaged ? ` ${damaged} damaged,` : ''} in ${repoUrl}`;
}
