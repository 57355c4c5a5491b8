import { describe, expect, it } from 'vitest';
import { PgopsError } from '../../../lib/errors.ts';
import { createLogger, silentLogger } from '../../../lib/log.ts';
import type { Repo } from '../../../lib/repo/repo.ts';
import { checkObjectLockSetting, durationText, holds, lockedKey, objectLockOf, retentionHeaders } from '../../../lib/repo/s3-object-lock.ts';

describe('lockedKey', () => {
  it('locks every object of a set, of a base backup and every archived WAL file', () => {
    for (const key of [
      'backups/app/20261122T031700Z/manifest.json',
      'backups/app/20261122T031700Z/globals.sql',
      'backups/app/20261122T031700Z/dump',
      'backups/app/20261122T031700Z/dump/toc.dat',
      'backups/app/20261122T031700Z/dump/3001.dat.gz',
      'backups/my%20db/20261122T031700Z/dump',
      'basebackups/7300000000000000000/20261122T031700Z/base.tar.zst',
      'basebackups/7300000000000000000/20261122T031700Z/backup_manifest',
      'basebackups/7300000000000000000/20261122T031700Z/manifest.json',
      'wal/7300000000000000000/000000010000000000000001',
      'wal/7300000000000000000/000000010000000000000001.gz',
      'wal/7300000000000000000/000000010000000000000001.json',
      'wal/7300000000000000000/00000002.history',
      'wal/7300000000000000000/000000010000000000000002.00000028.backup',
    ]) {
      expect(lockedKey(key), key).toBe(true);
    }
  });

  it('leaves unlocked what a healthy run rewrites or removes, and what is no set or WAL', () => {
    for (const key of [
      'pgops-repo.json',
      'backups/app/20261122T031700Z/lease.json',
      'basebackups/7300000000000000000/20261122T031700Z/lease.json',
      'drills/app/20261122T040000Z.json',
      'drills/@7300000000000000000/20261122T040000Z.json',
      'archives/app/partitions/public/events/events_2026_01-20261122T031700Z.dump',
      '.pgops-check-0a1b2c3d',
      '.pgops-probe-0a1b2c3d',
      'backups/app/20261122T031700Z/.pgops-tmp-dump-123-abc',
      'wal/7300000000000000000/.pgops-tmp-000000010000000000000001-1-x',
      // not a file of one system's folder
      'wal/7300000000000000000',
      'wal/7300000000000000000/sub/000000010000000000000001',
    ]) {
      expect(lockedKey(key), key).toBe(false);
    }
  });

  it('locks a file named lease.json deeper in a set (a table of a directory dump could be named so)', () => {
    expect(lockedKey('backups/app/20261122T031700Z/dump/lease.json')).toBe(true);
  });
});

describe('retentionHeaders', () => {
  it('retains until the write time plus the duration, in the repository mode', () => {
    const now = new Date('2026-11-22T03:17:00.250Z');
    expect(retentionHeaders({ mode: 'COMPLIANCE', duration: '30d', seconds: 30 * 86_400 }, now)).toEqual({
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: new Date('2026-12-22T03:17:00.250Z'),
    });
  });
});

describe('holds', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  it('holds while the retention lasts, or under a legal hold', () => {
    expect(holds({ until: new Date('2026-11-22T12:00:01Z'), legalHold: false }, now)).toBe(true);
    expect(holds({ until: new Date('2026-11-22T12:00:00Z'), legalHold: false }, now)).toBe(false);
    expect(holds({ legalHold: false }, now)).toBe(false);
    expect(holds({ until: new Date('2026-11-01T00:00:00Z'), legalHold: true }, now)).toBe(true);
  });
});

describe('durationText', () => {
  it('writes a duration in the unit it was most likely given in', () => {
    expect([86_400_000 * 30, 3_600_000 * 36, 60_000 * 90, 45_000, 1500].map(durationText)).toEqual(['30d', '36h', '90m', '45s', '1500ms']);
  });
});

describe('checkObjectLockSetting', () => {
  const file = { kind: 'file', url: 'file:///srv/pgops' } as Repo;
  const refusal = async (options: Parameters<typeof checkObjectLockSetting>[1], repo = file) => {
    const err = await checkObjectLockSetting(repo, options, silentLogger()).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(PgopsError);
    return err as PgopsError;
  };

  it('asks for nothing when neither option is given', async () => {
    expect(await checkObjectLockSetting(file, {}, silentLogger())).toBeUndefined();
  });

  it('refuses a mode without a duration and a duration without a mode (exit 3, with a hint)', async () => {
    const noDuration = await refusal({ s3ObjectLockMode: 'compliance' });
    expect(noDuration.code).toBe(3);
    expect(noDuration.message).toContain('--s3-object-lock-mode compliance needs --s3-object-lock DURATION');
    expect(noDuration.hint).toContain('--s3-object-lock 30d');
    const noMode = await refusal({ s3ObjectLock: 7 * 86_400_000 });
    expect(noMode.code).toBe(3);
    expect(noMode.message).toContain('--s3-object-lock 7d needs --s3-object-lock-mode compliance or governance');
    expect(noMode.hint).toContain('s3:BypassGovernanceRetention');
  });

  it('refuses a folder repository: object lock is S3 only', async () => {
    const err = await refusal({ s3ObjectLock: 86_400_000, s3ObjectLockMode: 'governance' });
    expect(err.code).toBe(3);
    expect(err.message).toBe('--s3-object-lock needs an s3:// repository: file:///srv/pgops is a folder, which has no object lock');
  });

  // an s3 repository whose bucket answers GetObjectLockConfiguration with config
  const s3 = (config: { enabled: boolean; defaultRetention?: { mode: string; text: string } }) =>
    ({ kind: 's3', url: 's3://backups/pgops', bucket: 'backups', locks: { configuration: async () => config } }) as unknown as Repo;

  it('refuses a bucket without object lock, naming it, with how to get one', async () => {
    const err = await refusal({ s3ObjectLock: 86_400_000, s3ObjectLockMode: 'governance' }, s3({ enabled: false }));
    expect(err.code).toBe(3);
    expect(err.message).toBe('bucket backups does not have object lock enabled: --s3-object-lock cannot retain what pgops writes there');
    expect(err.hint).toContain('aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket');
    expect(err.hint).toContain('put-object-lock-configuration');
  });

  it('returns the setting to record, and says so when the bucket has a default retention of its own', async () => {
    const lines: string[] = [];
    const log = createLogger({ task: 'repo-init', format: 'json', stream: { write: (l: string) => lines.push(l) } as never, verbose: false });
    const plain = await checkObjectLockSetting(s3({ enabled: true }), { s3ObjectLock: 30 * 86_400_000, s3ObjectLockMode: 'compliance' }, log);
    expect(plain).toEqual({ mode: 'COMPLIANCE', duration: '30d', seconds: 2_592_000 });
    expect(lines).toEqual([]);
    const withDefault = await checkObjectLockSetting(s3({ enabled: true, defaultRetention: { mode: 'GOVERNANCE', text: '90 day(s)' } }), { s3ObjectLock: 36 * 3_600_000, s3ObjectLockMode: 'governance' }, log);
    expect(withDefault).toEqual({ mode: 'GOVERNANCE', duration: '36h', seconds: 129_600 });
    const warning = JSON.parse(lines[0]);
    expect(warning).toMatchObject({ level: 'warn', kind: 'object-lock', defaultMode: 'GOVERNANCE', defaultRetention: '90 day(s)' });
    expect(warning.message).toContain('bucket backups has a default retention of its own (GOVERNANCE 90 day(s))');
  });

  it('refuses a retention under a second', async () => {
    const err = await refusal({ s3ObjectLock: 500, s3ObjectLockMode: 'governance' });
    expect(err.code).toBe(3);
  });
});

describe('objectLockOf', () => {
  const lock = { mode: 'COMPLIANCE', duration: '30d', seconds: 2_592_000 } as const;
  it('finds the retention of an s3 repository, under an encrypted one too', () => {
    expect(objectLockOf({ kind: 's3', objectLock: lock } as unknown as Repo)).toBe(lock);
    expect(objectLockOf({ kind: 's3', raw: { kind: 's3', objectLock: lock } } as unknown as Repo)).toBe(lock);
    expect(objectLockOf({ kind: 's3' } as unknown as Repo)).toBeUndefined();
    expect(objectLockOf({ kind: 'file' } as unknown as Repo)).toBeUndefined();
  });
});
