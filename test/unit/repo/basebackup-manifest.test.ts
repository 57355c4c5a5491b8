import { describe, expect, it } from 'vitest';
import { baseTarName, parseBaseBackupManifest } from '../../../lib/repo/basebackup-manifest.ts';

const SHA = 'b'.repeat(64);
const GOOD = {
  format: 'pgops-basebackup-manifest',
  manifestVersion: 1,
  backupId: '20261201T130100Z',
  systemIdentifier: '7714323492965734247',
  compression: 'none',
  timeline: 1,
  start: { lsn: '0/2000028', segment: '000000010000000000000002', time: '2026-12-01T13:01:00.000Z' },
  stop: { lsn: '0/2000100', segment: '000000010000000000000002', time: '2026-12-01T13:01:02.000Z' },
  wal: { first: '000000010000000000000002', last: '000000010000000000000002' },
  files: [
    { path: 'base.tar', size: 10, sha256: SHA },
    { path: 'backup_manifest', size: 5, sha256: SHA },
  ],
};

describe('the base backup manifest reader', () => {
  it('reads a manifest', () => {
    expect(parseBaseBackupManifest(JSON.stringify(GOOD), 'm.json')).toEqual(GOOD);
  });

  it('refuses what is not JSON, another format, and missing fields, as damage (exit 6)', () => {
    expect(() => parseBaseBackupManifest('{', 'm.json')).toThrow(/base backup manifest m.json is not valid JSON/);
    expect(() => parseBaseBackupManifest(JSON.stringify({ ...GOOD, format: 'pgops-backup-manifest' }), 'm.json')).toThrow(/m.json is not a pgops base backup manifest$/);
    const { wal: _wal, stop: _stop, ...partial } = GOOD;
    try {
      parseBaseBackupManifest(JSON.stringify(partial), 'm.json');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe('m.json is not a pgops base backup manifest (missing stop, wal)');
      expect((err as { code: number }).code).toBe(6);
    }
  });

  it('refuses a newer manifest version (exit 3: upgrade pgops)', () => {
    expect(() => parseBaseBackupManifest(JSON.stringify({ ...GOOD, manifestVersion: 2 }), 'm.json')).toThrow(/has version 2, newer than this pgops reads \(1\)/);
  });

  it('refuses listed files without size or sha256, and paths that leave the folder', () => {
    expect(() => parseBaseBackupManifest(JSON.stringify({ ...GOOD, files: [{ path: 'base.tar', size: 1 }] }), 'm.json')).toThrow(/lists a file without path, size or sha256/);
    expect(() => parseBaseBackupManifest(JSON.stringify({ ...GOOD, files: [{ path: '../../wal/x', size: 1, sha256: SHA }] }), 'm.json')).toThrow(/is damaged/);
  });
});

describe('the stored name of the tar', () => {
  it('carries the compression\'s extension', () => {
    expect(baseTarName('none')).toBe('base.tar');
    expect(baseTarName('gzip:1')).toBe('base.tar.gz');
    expect(baseTarName('lz4:1')).toBe('base.tar.lz4');
    expect(baseTarName('zstd:3')).toBe('base.tar.zst');
    expect(() => baseTarName('brotli')).toThrow(/unknown base backup compression "brotli"/);
  });
});
