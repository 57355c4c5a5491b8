import type { BaseBackupManifest } from '../../lib/repo/basebackup-manifest.ts';
import type { Manifest } from '../../lib/repo/manifest.ts';

// A manifest of a made-up set (database app, backup 20261122T031700Z, no files), for unit tests of what reads one.
export function madeUpManifest(over: Partial<Manifest> = {}): Manifest {
  return {
    format: 'pgops-backup-manifest',
    manifestVersion: 1,
    backupId: '20261122T031700Z',
    database: 'app',
    tool: { name: 'pgops', version: 'test' },
    server: { version: '15.8', versionNum: 150008, systemIdentifier: '7300000000000000000', inRecovery: false },
    pgDump: { version: '15.8', format: 'custom', jobs: 1 },
    startedAt: '2026-11-22T03:17:00.000Z',
    finishedAt: '2026-11-22T03:17:01.000Z',
    durationMs: 1000,
    snapshot: { id: '00000003-00000002-1', lsn: '0/1000000', time: '2026-11-22T03:17:00.000Z' },
    files: [],
    totalSize: 0,
    fingerprints: { mode: 'count', tables: [] },
    ...over,
  };
}

// A manifest of a made-up base backup (system 7300000000000000000, timeline 1, WAL 000000010000000000000002..3),
// for unit tests of what reads one.
export function madeUpBaseBackupManifest(over: Partial<BaseBackupManifest> = {}): BaseBackupManifest {
  return {
    format: 'pgops-basebackup-manifest',
    manifestVersion: 1,
    backupId: '20261122T031700Z',
    systemIdentifier: '7300000000000000000',
    tool: { name: 'pgops', version: 'test' },
    server: { version: '15.8', versionNum: 150008, inRecovery: false },
    pgBasebackup: { version: '15.8' },
    compression: 'none',
    startedAt: '2026-11-22T03:17:00.000Z',
    finishedAt: '2026-11-22T03:17:02.000Z',
    durationMs: 2000,
    timeline: 1,
    start: { lsn: '0/2000028', segment: '000000010000000000000002', time: '2026-11-22T03:17:00.000Z' },
    stop: { lsn: '0/3000100', segment: '000000010000000000000003', time: '2026-11-22T03:17:02.000Z' },
    wal: { first: '000000010000000000000002', last: '000000010000000000000003' },
    backupLabel: 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n',
    tarSize: 0,
    files: [],
    totalSize: 0,
    ...over,
  };
}
