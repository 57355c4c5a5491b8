import { describe, expect, it } from 'vitest';
import { backupIdFor, backupIdTime, classifyKey, dataKey, dbFolder, drillKey, isTempKey, leaseKey, manifestKey, setOfKey, setPrefix, sidecarKey } from '../../../lib/repo/layout.ts';

describe('the WAL folder of a repository', () => {
  it('keeps each system in wal/<system identifier>/, data and sidecar side by side', () => {
    expect(dataKey('771', '000000010000000000000003', 'none')).toBe('wal/771/000000010000000000000003');
    expect(dataKey('771', '000000010000000000000003', 'gzip')).toBe('wal/771/000000010000000000000003.gz');
    expect(dataKey('771', '00000002.history', 'brotli')).toBe('wal/771/00000002.history.br');
    expect(sidecarKey('771', '000000010000000000000003.00000028.backup')).toBe('wal/771/000000010000000000000003.00000028.backup.json');
  });

  it('tells data objects from sidecars in a listing', () => {
    expect(classifyKey('000000010000000000000003')).toEqual({ name: '000000010000000000000003', role: 'data', compression: 'none' });
    expect(classifyKey('000000010000000000000003.partial.br')).toEqual({ name: '000000010000000000000003.partial', role: 'data', compression: 'brotli' });
    expect(classifyKey('00000002.history.json')).toEqual({ name: '00000002.history', role: 'sidecar' });
    expect(classifyKey('.pgops-tmp-000000010000000000000003-12-ab')).toBeUndefined();
  });
});

describe('temp files', () => {
  it('are the temp files of writes and every file of a scratch folder, nothing else', () => {
    expect(isTempKey('wal/771/.pgops-tmp-000000010000000000000003-12-ab')).toBe(true);
    // what pg_basebackup writes into a file repository's scratch folder, left by a crash
    expect(isTempKey('basebackups/771/20261201T000000Z/.pgops-tmp-scratch-12-ab/base.tar')).toBe(true);
    expect(isTempKey('basebackups/771/20261201T000000Z/base.tar')).toBe(false);
    expect(isTempKey('backups/app/20261201T000000Z/manifest.json')).toBe(false);
  });
});

describe('backup ids and repository paths', () => {
  it('makes ids that sort in time order and read back', () => {
    const a = backupIdFor(new Date('2026-11-22T03:17:00.999Z'));
    const b = backupIdFor(new Date('2026-11-22T03:17:01Z'));
    expect(a).toBe('20261122T031700Z');
    expect([b, a].sort()).toEqual([a, b]);
    expect(backupIdTime(a)?.toISOString()).toBe('2026-11-22T03:17:00.000Z');
    expect(backupIdTime('latest')).toBeUndefined();
  });
  it('turns any database name into one safe folder', () => {
    expect(dbFolder('app')).toBe('app');
    expect(dbFolder('a/b c')).toBe('a%2Fb%20c');
    expect(dbFolder('..')).toBe('%2E.');
    expect(decodeURIComponent(dbFolder('tricky "ü" db'))).toBe('tricky "ü" db');
    expect(setPrefix('x y', '20261122T031700Z')).toBe('backups/x%20y/20261122T031700Z/');
  });
  it('names the manifest and lease of a set, the report of a drill, and the set a key belongs to', () => {
    expect(manifestKey('x y', '20261122T031700Z')).toBe('backups/x%20y/20261122T031700Z/manifest.json');
    expect(leaseKey('app', '20261122T031700Z')).toBe('backups/app/20261122T031700Z/lease.json');
    expect(drillKey('a/b', '20261123T040000Z')).toBe('drills/a%2Fb/20261123T040000Z.json');
    expect(setOfKey('backups/x%20y/20261122T031700Z/dump/toc.dat')).toEqual({ database: 'x y', id: '20261122T031700Z', folder: 'x%20y/20261122T031700Z' });
    expect(setOfKey('backups/app/latest/dump')).toBeUndefined();
    expect(setOfKey('backups/app/20261122T031700Z')).toBeUndefined();
    expect(setOfKey('drills/app/20261122T031700Z/x')).toBeUndefined();
  });
});
