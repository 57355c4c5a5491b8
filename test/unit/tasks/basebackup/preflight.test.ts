import { describe, expect, it } from 'vitest';
import { archivesItself, preflightRefusal, type PreflightFacts } from '../../../../lib/tasks/basebackup/preflight.ts';

const WHERE = { repoUrl: 'file:///var/backups/pgops', systemId: '7714323492965734247' };

// A primary that archives into the repository with pgops wal push.
function facts(over: Partial<PreflightFacts> = {}): PreflightFacts {
  return {
    inRecovery: false,
    walLevel: 'replica',
    archiveMode: 'on',
    archiveCommand: 'pgops wal push %p --repo file:///var/backups/pgops',
    archiveLibrary: '',
    walSegmentSize: 16 * 1024 * 1024,
    maxWalSenders: 10,
    replication: true,
    role: 'backup',
    archiver: { lastArchivedWal: '000000010000000000000004', lastArchivedTime: new Date('2026-12-01T03:00:00Z'), lastFailedWal: null, lastFailedTime: null, failedCount: 0 },
    tablespaces: [],
    repoHasWal: true,
    ...over,
  };
}

const refusal = (over: Partial<PreflightFacts>) => preflightRefusal(facts(over), WHERE);

describe('the base backup preflight', () => {
  it('lets a primary that archives into the repository through', () => {
    expect(preflightRefusal(facts(), WHERE)).toBeUndefined();
  });

  it('refuses extra tablespaces (exit 3), naming them and what to use instead', () => {
    const err = refusal({ tablespaces: [{ name: 'fast', location: '/ssd/pg' }, { name: 'slow', location: '/hdd/pg' }] })!;
    expect(err.code).toBe(3);
    expect(err.message).toBe("the cluster has tablespaces besides pg_default and pg_global: fast (/ssd/pg), slow (/hdd/pg); pgops basebackup streams pg_basebackup's tar from stdout, which holds the main data directory only");
    expect(err.hint).toContain('pg_basebackup can write only one tablespace to stdout');
    expect(err.hint).toContain('pgBackRest');
  });

  it('refuses wal_level minimal, archive_mode off and an empty archive_command, saying what to set', () => {
    expect(refusal({ walLevel: 'minimal' })).toMatchObject({ code: 3, message: expect.stringContaining('wal_level is minimal'), hint: expect.stringContaining("wal_level = 'replica'") });
    const off = refusal({ archiveMode: 'off' })!;
    expect(off.message).toContain('archive_mode is off');
    expect(off.hint).toContain("archive_command = 'pgops wal push %p --repo file:///var/backups/pgops'");
    expect(refusal({ archiveCommand: '' })).toMatchObject({ message: 'archive_mode is on but archive_command is empty: nothing is archived' });
    // an archive library archives without archive_command
    expect(refusal({ archiveCommand: '', archiveLibrary: 'basic_archive' })).toBeUndefined();
  });

  it('refuses a role without REPLICATION and a server without WAL senders', () => {
    expect(refusal({ replication: false })).toMatchObject({ message: 'role "backup" may not take a base backup: it has neither REPLICATION nor superuser', hint: expect.stringContaining('ALTER ROLE "backup" REPLICATION') });
    expect(refusal({ maxWalSenders: 0 })?.message).toContain('max_wal_senders is 0');
  });

  it('refuses while the archiver\'s last attempt failed after its last success, naming the segment and the time', () => {
    const err = refusal({ archiver: { lastArchivedWal: '000000010000000000000004', lastArchivedTime: new Date('2026-12-01T03:00:00Z'), lastFailedWal: '000000010000000000000005', lastFailedTime: new Date('2026-12-01T03:05:00Z'), failedCount: 12 } })!;
    expect(err.message).toBe("archiving is failing: pg_stat_archiver's last attempt, for 000000010000000000000005 at 2026-12-01T03:05:00.000Z, failed (12 failures; the last success was 000000010000000000000004 at 2026-12-01T03:00:00.000Z)");
    expect(err.hint).toContain('pgops wal check names the cause');
    // a failure that a success followed is history
    expect(refusal({ archiver: { lastArchivedWal: '000000010000000000000006', lastArchivedTime: new Date('2026-12-01T03:06:00Z'), lastFailedWal: '000000010000000000000005', lastFailedTime: new Date('2026-12-01T03:05:00Z'), failedCount: 1 } })).toBeUndefined();
    expect(refusal({ archiver: { lastArchivedWal: null, lastArchivedTime: null, lastFailedWal: '000000010000000000000001', lastFailedTime: new Date('2026-12-01T03:05:00Z'), failedCount: 3 } })?.message).toContain('no success yet');
  });

  it('refuses a repository without WAL of the system, showing archive_command', () => {
    const err = refusal({ repoHasWal: false, archiveCommand: 'cp %p /mnt/archive/%f' })!;
    expect(err.message).toBe('archive_command does not archive into this repository: file:///var/backups/pgops holds no WAL of system 7714323492965734247 (archive_command "cp %p /mnt/archive/%f")');
    expect(refusal({ repoHasWal: false, archiveCommand: null })?.message).toContain('archive_command (not readable by this role)');
  });

  describe('on a standby', () => {
    it('archives itself only with archive_mode always', () => {
      expect(archivesItself({ inRecovery: true, archiveMode: 'on' })).toBe(false);
      expect(archivesItself({ inRecovery: true, archiveMode: 'always' })).toBe(true);
      expect(archivesItself({ inRecovery: false, archiveMode: 'on' })).toBe(true);
    });

    it('leaves archiving to the primary with archive_mode on or off: only the repository\'s WAL is checked', () => {
      const archiver = { lastArchivedWal: null, lastArchivedTime: null, lastFailedWal: '000000010000000000000001', lastFailedTime: new Date(), failedCount: 1 };
      expect(refusal({ inRecovery: true, archiveMode: 'off', archiveCommand: '', archiver })).toBeUndefined();
      expect(refusal({ inRecovery: true, archiveMode: 'on', archiveCommand: '' })).toBeUndefined();
      expect(refusal({ inRecovery: true, archiveMode: 'on', repoHasWal: false })?.message).toContain('this standby does not archive (archive_mode on), so the primary must archive into this repository, and it does not');
    });

    it('checks its own archiving with archive_mode always', () => {
      expect(refusal({ inRecovery: true, archiveMode: 'always', archiveCommand: '' })?.message).toContain('archive_mode is always but archive_command is empty');
    });
  });
});
