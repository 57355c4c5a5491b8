import { ExitCode } from '../../errors.ts';
import { BASEBACKUP_MANIFEST_FORMAT, BASEBACKUP_MANIFEST_VERSION, type BaseBackupManifest } from '../../repo/basebackup-manifest.ts';
import { basebackupManifestKey } from '../../repo/layout.ts';
import type { ManifestFile } from '../../repo/manifest.ts';
import type { TaskResult } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { VERSION } from '../../version.ts';
import type { BackupLabel, BackupWal } from './label.ts';

// What a finished base backup is made of, for its manifest.
export interface TakenBackup {
  id: string;
  systemIdentifier: string;
  server: { version: string; versionNum: number };
  pgBasebackupVersion: string;
  compression: string;
  started: Date;
  finished: Date;
  label: BackupLabel;
  labelText: string;
  /** START TIME as an instant */
  startTime: Date;
  /** when pg_basebackup ended */
  stopTime: Date;
  wal: BackupWal;
  restorePoint?: { name: string; lsn: string };
  tarSize: number;
  files: ManifestFile[];
  marks: { label?: string; pinnedUntil?: string };
}

// The base backup's manifest (lib/repo/basebackup-manifest.ts), every field filled.
export function baseBackupManifest(t: TakenBackup): BaseBackupManifest {
  return {
    format: BASEBACKUP_MANIFEST_FORMAT,
    manifestVersion: BASEBACKUP_MANIFEST_VERSION,
    backupId: t.id,
    systemIdentifier: t.systemIdentifier,
    tool: { name: 'pgops', version: VERSION },
    server: { version: t.server.version, versionNum: t.server.versionNum, inRecovery: t.label.backupFrom === 'standby' },
    pgBasebackup: { version: t.pgBasebackupVersion },
    compression: t.compression,
    startedAt: t.started.toISOString(),
    finishedAt: t.finished.toISOString(),
    durationMs: t.finished.getTime() - t.started.getTime(),
    timeline: t.label.startTimeline,
    start: { lsn: t.wal.start.lsn, segment: t.wal.start.segment, time: t.startTime.toISOString() },
    stop: { lsn: t.wal.stop.lsn, segment: t.wal.stop.segment, time: t.stopTime.toISOString() },
    wal: { first: t.wal.start.segment, last: t.wal.stop.segment },
    backupLabel: t.labelText,
    ...(t.restorePoint ? { restorePoint: t.restorePoint } : {}),
    tarSize: t.tarSize,
    files: t.files,
    totalSize: t.files.reduce((s, f) => s + f.size, 0),
    ...t.marks,
  };
}

// The result of a committed base backup: the summary line and what --json prints.
export function baseBackupResult(m: BaseBackupManifest, repoUrl: string): TaskResult {
  const range = m.wal.first === m.wal.last ? `${m.wal.first}` : `${m.wal.first}..${m.wal.last}`;
  const marks = [m.label ? `label ${m.label}` : '', m.pinnedUntil ? `pinned until ${m.pinnedUntil}` : ''].filter(Boolean).join(', ');
  const summary =
    `base backup ${m.backupId} of system ${m.systemIdentifier}${m.server.inRecovery ? ' (from a standby)' : ''}: ${formatSize(m.totalSize)} (tar ${formatSize(m.tarSize)}${m.compression === 'none' ? '' : `, ${m.compression}`}) in ${formatDuration(m.durationMs)}, ` +
    `start ${m.start.lsn}, stop ${m.stop.lsn} (timeline ${m.timeline}), WAL ${range}${marks ? `, ${marks}` : ''}, into ${repoUrl}`;
  return {
    exitCode: ExitCode.OK,
    summary,
    data: {
      ok: true,
      backupId: m.backupId,
      systemIdentifier: m.systemIdentifier,
      repo: repoUrl,
      start: m.start,
      stop: m.stop,
      timeline: m.timeline,
      wal: m.wal,
      restorePoint: m.restorePoint ?? null,
      label: m.label ?? null,
      pinnedUntil: m.pinnedUntil ?? null,
      fromStandby: m.server.inRecovery,
      compression: m.compression,
      files: m.files,
      bytes: m.totalSize,
      tarBytes: m.tarSize,
      durationMs: m.durationMs,
      manifest: basebackupManifestKey(m.systemIdentifier, m.backupId),
    },
    gauges: {
      // the stored bytes are data.bytes, which the run's metrics export as pgops_last_bytes
      tar_bytes: { help: "Bytes of pg_basebackup's tar stream in the last base backup (before compression).", value: m.tarSize },
    },
  };
}
