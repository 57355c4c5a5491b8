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
