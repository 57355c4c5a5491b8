import { describe, expect, it } from 'vitest';
import { parseBaseBackupManifest } from '../../../../lib/repo/basebackup-manifest.ts';
import { backupWal, parseBackupLabel, parseBackupManifestFacts } from '../../../../lib/tasks/basebackup/label.ts';
import { baseBackupManifest, baseBackupResult, type TakenBackup } from '../../../../lib/tasks/basebackup/record.ts';
import { pgBasebackupArgs } from '../../../../lib/tasks/basebackup/stream.ts';

const LABEL = 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nBACKUP FROM: primary\nSTART TIME: 2026-12-01 13:01:00 UTC\nLABEL: pgops 20261201T130100Z\nSTART TIMELINE: 1\n';
const label = parseBackupLabel(LABEL);
const facts = parseBackupManifestFacts(JSON.stringify({ 'PostgreSQL-Backup-Manifest-Version': 1, Files: [], 'WAL-Ranges': [{ Timeline: 1, 'Start-LSN': '0/2000028', 'End-LSN': '0/3000100' }] }));
const SHA = 'a'.repeat(64);

function taken(over: Partial<TakenBackup> = {}): TakenBackup {
  return {
    id: '20261201T130100Z',
    systemIdentifier: '7714323492965734247',
    server: { version: '15.18', versionNum: 150018 },
    pgBasebackupVersion: '15.18',
    compression: 'zstd:3',
    started: new Date('2026-12-01T13:01:00.200Z'),
    finished: new Date('2026-12-01T13:01:02.700Z'),
    label,
    labelText: LABEL,
    startTime: new Date('2026-12-01T13:01:00Z'),
    stopTime: new Date('2026-12-01T13:01:02.100Z'),
    wal: backupWal(label, facts, 16 * 1024 * 1024),
    restorePoint: { name: '20261201T130100Z', lsn: '0/4000090' },
    tarSize: 26_000_000,
    files: [
      { path: 'base.tar.zst', size: 3_000_000, sha256: SHA },
      { path: 'backup_manifest', size: 190_000, sha256: SHA },
    ],
    marks: { label: 'pre-migration-42', pinnedUntil: '2026-12-31T13:01:02.700Z' },
    ...over,
  };
}

describe('the base backup manifest', () => {
  it('fills every field, and reads back as the contract recover, prune and drill read', () => {
    const m = baseBackupManifest(taken());
    expect(parseBaseBackupManifest(JSON.stringify(m), 'test')).toEqual(m);
    expect(m).toMatchObject({
      backupId: '20261201T130100Z',
      timeline: 1,
      start: { lsn: '0/2000028', segment: '000000010000000000000002', time: '2026-12-01T13:01:00.000Z' },
      stop: { lsn: '0/3000100', segment: '000000010000000000000003', time: '2026-12-01T13:01:02.100Z' },
      wal: { first: '000000010000000000000002', last: '000000010000000000000003' },
      server: { version: '15.18', versionNum: 150018, inRecovery: false },
      durationMs: 2500,
      totalSize: 3_190_000,
      tarSize: 26_000_000,
      label: 'pre-migration-42',
      pinnedUntil: '2026-12-31T13:01:02.700Z',
      backupLabel: LABEL,
      restorePoint: { name: '20261201T130100Z', lsn: '0/4000090' },
    });
  });

  it('leaves out what a standby cannot have, and what was not asked for', () => {
    const m = baseBackupManifest(taken({ restorePoint: undefined, marks: {}, label: { ...label, backupFrom: 'standby' } }));
    expect(m.server.inRecovery).toBe(true);
    expect('restorePoint' in m || 'label' in m || 'pinnedUntil' in m).toBe(false);
  });

  it('sums it up in one line, with the --json data', () => {
    const r = baseBackupResult(baseBackupManifest(taken()), 'file:///var/backups/pgops');
    expect(r.exitCode).toBe(0);
    expect(r.summary).toBe(
      'base backup 20261201T130100Z of system 7714323492965734247: 3.0 MB (tar 24.8 MB, zstd:3) in 2.5s, start 0/2000028, stop 0/3000100 (timeline 1), WAL 000000010000000000000002..000000010000000000000003, label pre-migration-42, pinned until 2026-12-31T13:01:02.700Z, into file:///var/backups/pgops',
    );
    expect(r.data).toMatchObject({ ok: true, backupId: '20261201T130100Z', bytes: 3_190_000, tarBytes: 26_000_000, durationMs: 2500, manifest: 'basebackups/7714323492965734247/20261201T130100Z/manifest.json' });
  });
});

describe('the pg_basebackup command line', () => {
  it('writes a tar to stdout without WAL, after a fast checkpoint, and never asks for a password', () => {
    const args = pgBasebackupArgs("host='db1' port='5432' user='backup' dbname='postgres'", 'pgops 20261201T130100Z');
    expect(args).toEqual(['-D', '-', '-Ft', '-X', 'none', '-c', 'fast', '--manifest-checksums=SHA256', '--no-password', '-l', 'pgops 20261201T130100Z', '-d', "host='db1' port='5432' user='backup' dbname='postgres'"]);
  });
});
