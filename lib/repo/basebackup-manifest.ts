import { ExitCode, PgopsError } from '../errors.ts';
import { listedPathProblems, type ManifestFile } from './manifest.ts';

export const BASEBACKUP_MANIFEST_FORMAT = 'pgops-basebackup-manifest';
export const BASEBACKUP_MANIFEST_VERSION = 1;

// The files of a base backup as the manifest names them, relative to its folder.
export const BASE_TAR = 'base.tar';
export const BACKUP_MANIFEST_FILE = 'backup_manifest';

// A WAL location with the WAL file that holds it.
export interface WalPoint {
  /** 0/5000028 */
  lsn: string;
  /** 000000010000000000000005 */
  segment: string;
}

// The commit marker of a base backup (basebackups/<system identifier>/<backup id>/manifest.json): written last, once
// the stop segment is archived, and readers trust nothing it does not list.
export interface BaseBackupManifest {
  format: typeof BASEBACKUP_MANIFEST_FORMAT;
  manifestVersion: number;
  backupId: string;
  systemIdentifier: string;
  tool: { name: 'pgops'; version: string };
  server: { version: string; versionNum: number; /** taken from a standby */ inRecovery: boolean };
  pgBasebackup: { version: string };
  /** how base.tar is stored: none, gzip[:N], lz4[:N], zstd[:N] (base.tar, base.tar.gz, base.tar.lz4, base.tar.zst) */
  compression: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** the backup's timeline (START TIMELINE of the backup label) */
  timeline: number;
  /** where replay starts (START WAL LOCATION), and when (START TIME, ISO 8601) */
  start: WalPoint & { time: string };
  /** where the backup becomes consistent (End-LSN of backup_manifest's WAL range); time: when pg_basebackup ended */
  stop: WalPoint & { time: string };
  /** the WAL files the backup needs to become consistent, first to last, on `timeline` */
  wal: { first: string; last: string };
  /** the backup_label file as pg_basebackup wrote it */
  backupLabel: string;
  /** pg_create_restore_point() named after the backup id, right after the backup (absent from a standby) */
  restorePoint?: { name: string; lsn: string };
  /** bytes of the uncompressed tar stream */
  tarSize: number;
  /** every stored file: base.tar[...] and backup_manifest (pg_basebackup's own, which pg_verifybackup reads) */
  files: ManifestFile[];
  totalSize: number;
  label?: string;
  /** no retention rule prunes the backup before this moment (ISO 8601) */
  pinnedUntil?: string;
}

const DAMAGED_HINT = 'the base backup is damaged: use another one (pgops backups list)';

// Parses and checks a base backup manifest's shape; one that does not parse makes the backup unreadable, never
// complete.
export function parseBaseBackupManifest(text: string | Buffer, where: string): BaseBackupManifest {
  let doc: Partial<BaseBackupManifest>;
  try {
    doc = JSON.parse(String(text));
  } catch {
    throw new PgopsError(`base backup manifest ${where} is not valid JSON`, { code: ExitCode.INTEGRITY, hint: DAMAGED_HINT });
  }
  const missing = ['backupId', 'systemIdentifier', 'files', 'start', 'stop', 'timeline', 'wal', 'compression'].filter((k) => !(k in doc));
  if (doc.format !== BASEBACKUP_MANIFEST_FORMAT || missing.length > 0 || !Array.isArray(doc.files)) {
    throw new PgopsError(`${where} is not a pgops base backup manifest${missing.length ? ` (missing ${missing.join(', ')})` : ''}`, { code: ExitCode.INTEGRITY, hint: DAMAGED_HINT });
  }
  if ((doc.manifestVersion ?? 0) > BASEBACKUP_MANIFEST_VERSION) {
    throw new PgopsError(`base backup manifest ${where} has version ${doc.manifestVersion}, newer than this pgops reads (${BASEBACKUP_MANIFEST_VERSION})`, { code: ExitCode.UNKNOWN, hint: 'upgrade pgops' });
  }
  for (const f of doc.files) {
    if (typeof f.path !== 'string' || typeof f.size !== 'number' || !/^[0-9a-f]{64}$/.test(String(f.sha256))) {
      throw new PgopsError(`base backup manifest ${where} lists a file without path, size or sha256`, { code: ExitCode.INTEGRITY, hint: DAMAGED_HINT });
    }
  }
  const bad = listedPathProblems(doc as BaseBackupManifest);
  if (bad) throw new PgopsError(`base backup manifest ${where} is damaged: ${bad}`, { code: ExitCode.INTEGRITY, hint: DAMAGED_HINT });
  return doc as BaseBackupManifest;
}

// The stored name of base.tar under a compression: base.tar, base.tar.gz, base.tar.lz4, base.tar.zst.
export function baseTarName(compression: string): string {
  const method = compression.split(':')[0];
  const ext: Record<string, string> = { none: '', gzip: '.gz', lz4: '.lz4', zstd: '.zst' };
  if (!(method in ext)) throw new PgopsError(`unknown base backup compression "${compression}"`, { code: ExitCode.UNKNOWN, hint: 'expected none, gzip, lz4 or zstd, with an optional :LEVEL' });
  return BASE_TAR + ext[method];
}
