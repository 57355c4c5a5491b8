import { describe, expect, it } from 'vitest';
import { evaluate, evaluateSystem, statusOfAll, type DatabaseFacts, type DatabaseStatus, type SystemFacts, type Thresholds } from '../../../../lib/tasks/status/evaluate.ts';

const NOW = new Date('2026-11-22T12:00:00Z');
const HOUR = 3_600_000;
const T: Thresholds = {
  backupWarnMs: 26 * HOUR, backupCritMs: 52 * HOUR, drillWarnMs: 8 * 24 * HOUR, drillCritMs: 16 * 24 * HOUR,
  basebackupWarnMs: 8 * 24 * HOUR, basebackupCritMs: 16 * 24 * HOUR, pitrDrillWarnMs: 8 * 24 * HOUR, pitrDrillCritMs: 16 * 24 * HOUR,
};
const ago = (h: number) => new Date(NOW.getTime() - h * HOUR);

// A database with a fresh backup and a fresh passing drill: OK unless the test adds something.
function facts(over: Partial<DatabaseFacts> = {}): DatabaseFacts {
  return {
    database: 'app',
    completeBackups: 2,
    damagedBackups: [],
    newestBackup: { id: '20261122T031700Z', time: ago(9) },
    newestPassingDrill: { drillId: '20261122T050000Z', backupId: '20261122T031700Z', time: ago(7) },
    newestDrill: { drillId: '20261122T050000Z', backupId: '20261122T031700Z', time: ago(7), result: 'pass' },
    ...over,
  };
}

describe('status evaluate', () => {
  it('is OK with a fresh backup and a fresh passing drill', () => {
    const s = evaluate(facts(), T, NOW);
    expect(s.level).toBe(0);
    expect(s.messages).toEqual(['newest backup 20261122T031700Z is 9h00m old', 'newest passing drill 20261122T050000Z (backup 20261122T031700Z) is 7h00m old']);
  });

  it('warns about each damaged set, naming what is wrong with it', () => {
    const s = evaluate(
      facts({
        damagedBackups: [
          { id: '20261122T110000Z', problem: 'dump is missing' },
          { id: '20261120T031700Z', problem: 'globals.sql has 10 bytes, the manifest lists 24' },
        ],
      }),
      T,
      NOW,
    );
    expect(s.level).toBe(1);
    expect(s.messages).toEqual([
      'newest backup 20261122T031700Z is 9h00m old',
      'backup 20261122T110000Z is damaged: dump is missing',
      'backup 20261120T031700Z is damaged: globals.sql has 10 bytes, the manifest lists 24',
      'newest passing drill 20261122T050000Z (backup 20261122T031700Z) is 7h00m old',
    ]);
  });

  it('stays CRITICAL when the only sets are damaged, and says so', () => {
    const s = evaluate(facts({ completeBackups: 0, newestBackup: undefined, damagedBackups: [{ id: '20261122T031700Z', problem: 'dump is missing' }] }), T, NOW);
    expect(s.level).toBe(2);
    expect(s.messages.slice(0, 2)).toEqual(['no complete backup', 'backup 20261122T031700Z is damaged: dump is missing']);
    expect(s.backupAgeSeconds).toBeNull();
  });

  it('warns, then is CRITICAL, as the newest backup and the newest passing drill age past their thresholds', () => {
    expect(evaluate(facts({ newestBackup: { id: 'b', time: ago(27) } }), T, NOW)).toMatchObject({ level: 1, messages: ['newest backup b is 1d03h old (warning over 1d02h)', expect.any(String)], backupAgeSeconds: 27 * 3600 });
    expect(evaluate(facts({ newestBackup: { id: 'b', time: ago(53) } }), T, NOW).level).toBe(2);
    const drill = (h: number) => ({ drillId: 'd', backupId: 'b', time: ago(h) });
    expect(evaluate(facts({ newestPassingDrill: drill(9 * 24), newestDrill: { ...drill(9 * 24), result: 'pass' } }), T, NOW).level).toBe(1);
    expect(evaluate(facts({ newestPassingDrill: drill(17 * 24), newestDrill: { ...drill(17 * 24), result: 'pass' } }), T, NOW)).toMatchObject({ level: 2, drillAgeSeconds: 17 * 24 * 3600 });
  });

  it('is CRITICAL without a passing drill, and warns when the newest drill failed or could not run', () => {
    expect(evaluate(facts({ newestPassingDrill: undefined, newestDrill: undefined }), T, NOW)).toMatchObject({ level: 2, drillAgeSeconds: null });
    const failed = evaluate(facts({ newestDrill: { drillId: '20261122T110000Z', backupId: '20261122T031700Z', time: ago(1), result: 'fail' } }), T, NOW);
    expect(failed.level).toBe(1);
    expect(failed.messages.at(-1)).toBe('the newest drill 20261122T110000Z (backup 20261122T031700Z) failed');
    expect(evaluate(facts({ newestDrill: { drillId: 'd', backupId: 'b', time: ago(1), result: 'error' } }), T, NOW).messages.at(-1)).toBe('the newest drill d (backup b) could not run');
  });
});

describe('status: the runbook page of what is wrong', () => {
  it('names the finding of each kind, and none when everything is OK', () => {
    expect(evaluate(facts(), T, NOW).findings).toEqual([]);
    const late = evaluate(facts({ newestBackup: { id: 'b', time: ago(27) }, damagedBackups: [{ id: 'x', problem: 'dump is missing' }] }), T, NOW);
    expect(late.findings).toEqual([{ level: 1, kind: 'backup-age' }, { level: 1, kind: 'backup-damaged' }]);
    const drill = (h: number) => ({ drillId: 'd', backupId: 'b', time: ago(h) });
    expect(evaluate(facts({ newestPassingDrill: undefined, newestDrill: { ...drill(1), result: 'fail' } }), T, NOW).findings).toEqual([{ level: 2, kind: 'drill-missing' }, { level: 1, kind: 'drill-failed' }]);
    expect(statusOfAll([evaluate(facts(), T, NOW)], T).runbook).toEqual([]);
  });

  it('names the page of the worst finding only, and each distinct page of equally bad ones', () => {
    // the backup is CRITICAL, the drill only WARNING: the backup's page
    const backupWorse = evaluate(facts({ newestBackup: { id: 'b', time: ago(53) }, newestPassingDrill: { drillId: 'd', backupId: 'b', time: ago(9 * 24) } }), T, NOW);
    expect(statusOfAll([backupWorse], T).runbook).toEqual(['runbooks/backup-failed.md']);
    // both WARNING: both pages, in the order of the status line, each once
    const both = evaluate(facts({ newestBackup: { id: 'b', time: ago(27) }, damagedBackups: [{ id: 'x', problem: 'p' }, { id: 'y', problem: 'q' }] }), T, NOW);
    expect(statusOfAll([both], T).runbook).toEqual(['runbooks/backup-failed.md', 'runbooks/verify.md#4-a-damaged-or-missing-file-of-a-backup-set']);
    // a database system's point-in-time drill beside a database that is fine
    const sys = evaluateSystem(system({ newestPassingPitrDrill: undefined, newestPitrDrill: undefined }), T, NOW);
    expect(statusOfAll([evaluate(facts(), T, NOW)], T, [sys]).runbook).toEqual(['runbooks/pitr-drill-failed.md']);
    const damaged = evaluateSystem(system({ damagedBaseBackups: [{ id: 'z', problem: 'base.tar is missing' }] }), T, NOW);
    expect(statusOfAll([], T, [damaged]).runbook).toEqual(['runbooks/pitr-drill-failed.md#a-damaged-base-backup']);
  });
});

describe('status line', () => {
  const db = (database: string, level: DatabaseStatus['level'], message: string, findings: DatabaseStatus['findings'] = []): DatabaseStatus => ({ database, level, messages: [message], findings, backupAgeSeconds: null, drillAgeSeconds: null });

  it('names every database, worst first, with the ages as perfdata against the thresholds', () => {
    const ok = evaluate(facts({ database: 'app' }), T, NOW);
    const late = evaluate(facts({ database: 'shop', newestBackup: { id: 'b', time: ago(27) } }), T, NOW);
    const { level, line } = statusOfAll([ok, late], T);
    expect(level).toBe(1);
    expect(line).toBe(
      'PGOPS STATUS WARNING - shop: newest backup b is 1d03h old (warning over 1d02h); newest passing drill 20261122T050000Z (backup 20261122T031700Z) is 7h00m old / ' +
        'app: newest backup 20261122T031700Z is 9h00m old; newest passing drill 20261122T050000Z (backup 20261122T031700Z) is 7h00m old' +
        " | 'app backup_age'=32400s;93600;187200;0 'app drill_age'=25200s;691200;1382400;0 'shop backup_age'=97200s;93600;187200;0 'shop drill_age'=25200s;691200;1382400;0",
    );
  });

  it('lets CRITICAL win beside UNKNOWN, and WARNING beside UNKNOWN', () => {
    expect(statusOfAll([db('a', 3, 'could not be read'), db('b', 2, 'no complete backup', [{ level: 2, kind: 'backup-missing' }])], T)).toEqual({ level: 2, line: 'PGOPS STATUS CRITICAL - b: no complete backup / a: could not be read', runbook: ['runbooks/backup-failed.md'] });
    expect(statusOfAll([db('a', 3, 'could not be read'), db('b', 1, 'backup x is damaged', [{ level: 1, kind: 'backup-damaged' }])], T)).toEqual({ level: 1, line: 'PGOPS STATUS WARNING - b: backup x is damaged / a: could not be read', runbook: ['runbooks/verify.md#4-a-damaged-or-missing-file-of-a-backup-set'] });
    expect(statusOfAll([db('a', 3, 'could not be read'), db('b', 0, 'fine')], T).level).toBe(3);
  });

  it("keeps a database's name from breaking the perfdata", () => {
    const s = evaluate(facts({ database: "o'brien=1" }), T, NOW);
    expect(statusOfAll([s], T).line).toContain(" | 'o''brien_1 backup_age'=32400s;93600;187200;0 ");
    expect(statusOfAll([], T)).toEqual({ level: 0, line: 'PGOPS STATUS OK - nothing to check', runbook: [] });
  });
});

const SYS = '7714323461558658781';

// A database system with a fresh base backup and a fresh passing point-in-time drill.
function system(over: Partial<SystemFacts> = {}): SystemFacts {
  return {
    systemIdentifier: SYS,
    newestBaseBackup: { id: '20261120T020000Z', time: ago(58) },
    damagedBaseBackups: [],
    newestPassingPitrDrill: { drillId: '20261121T040000Z', backupId: '20261120T020000Z', time: ago(32) },
    newestPitrDrill: { drillId: '20261121T040000Z', backupId: '20261120T020000Z', time: ago(32), result: 'pass' },
    ...over,
  };
}

describe('status evaluate: base backups and point-in-time drills', () => {
  it('is OK with a fresh base backup and a fresh passing point-in-time drill', () => {
    expect(evaluateSystem(system(), T, NOW)).toEqual({
      systemIdentifier: SYS,
      level: 0,
      messages: ['newest base backup 20261120T020000Z is 2d10h old', 'newest passing point-in-time drill 20261121T040000Z (base backup 20261120T020000Z) is 1d08h old'],
      findings: [],
      basebackupAgeSeconds: 58 * 3600,
      pitrDrillAgeSeconds: 32 * 3600,
    });
  });

  it('warns, then is CRITICAL, as the newest base backup ages past --max-basebackup-age and its double', () => {
    const bb = (h: number) => evaluateSystem(system({ newestBaseBackup: { id: 'b', time: ago(h) } }), T, NOW);
    expect(bb(8 * 24 - 1).level).toBe(0);
    expect(bb(9 * 24)).toMatchObject({ level: 1, messages: ['newest base backup b is 9d00h old (warning over 8d00h)', expect.any(String)] });
    expect(bb(17 * 24)).toMatchObject({ level: 2, messages: ['newest base backup b is 17d00h old (critical over 16d00h)', expect.any(String)] });
  });

  it('warns, then is CRITICAL, as the newest passing point-in-time drill ages', () => {
    const d = (h: number) => ({ drillId: 'd', backupId: 'b', time: ago(h) });
    expect(evaluateSystem(system({ newestPassingPitrDrill: d(9 * 24), newestPitrDrill: { ...d(9 * 24), result: 'pass' } }), T, NOW).level).toBe(1);
    expect(evaluateSystem(system({ newestPassingPitrDrill: d(17 * 24), newestPitrDrill: { ...d(17 * 24), result: 'pass' } }), T, NOW)).toMatchObject({ level: 2, pitrDrillAgeSeconds: 17 * 24 * 3600 });
  });

  it('is CRITICAL without a complete base backup or without a passing point-in-time drill', () => {
    expect(evaluateSystem(system({ newestBaseBackup: undefined }), T, NOW)).toMatchObject({ level: 2, basebackupAgeSeconds: null, messages: ['no complete base backup', expect.any(String)] });
    expect(evaluateSystem(system({ newestPassingPitrDrill: undefined, newestPitrDrill: undefined }), T, NOW)).toMatchObject({ level: 2, pitrDrillAgeSeconds: null });
    expect(evaluateSystem(system({ newestPassingPitrDrill: undefined, newestPitrDrill: undefined }), T, NOW).messages.at(-1)).toBe('no passing point-in-time drill');
  });

  it('warns about a damaged base backup and a newest drill that failed or could not run', () => {
    const damaged = evaluateSystem(system({ damagedBaseBackups: [{ id: '20261122T020000Z', problem: 'base.tar is missing' }] }), T, NOW);
    expect(damaged.level).toBe(1);
    expect(damaged.messages).toContain('base backup 20261122T020000Z is damaged: base.tar is missing');
    const failed = evaluateSystem(system({ newestPitrDrill: { drillId: '20261122T040000Z', backupId: 'b', time: ago(1), result: 'fail' } }), T, NOW);
    expect(failed).toMatchObject({ level: 1 });
    expect(failed.messages.at(-1)).toBe('the newest point-in-time drill 20261122T040000Z (base backup b) failed');
    expect(evaluateSystem(system({ newestPitrDrill: { drillId: 'd', backupId: 'b', time: ago(1), result: 'error' } }), T, NOW).messages.at(-1)).toBe('the newest point-in-time drill d (base backup b) could not run');
  });

  it('joins the same status line: databases and systems worst first, perfdata for both', () => {
    const app = evaluate(facts(), T, NOW);
    const sys = evaluateSystem(system({ newestBaseBackup: { id: 'b', time: ago(9 * 24) } }), T, NOW);
    const { level, line } = statusOfAll([app], T, [sys]);
    expect(level).toBe(1);
    expect(line).toBe(
      `PGOPS STATUS WARNING - system ${SYS}: newest base backup b is 9d00h old (warning over 8d00h); newest passing point-in-time drill 20261121T040000Z (base backup 20261120T020000Z) is 1d08h old / ` +
        'app: newest backup 20261122T031700Z is 9h00m old; newest passing drill 20261122T050000Z (backup 20261122T031700Z) is 7h00m old' +
        " | 'app backup_age'=32400s;93600;187200;0 'app drill_age'=25200s;691200;1382400;0" +
        ` '${SYS} basebackup_age'=777600s;691200;1382400;0 '${SYS} pitr_drill_age'=115200s;691200;1382400;0`,
    );
  });

  it('leaves the line of a repository without base backups as it was', () => {
    const app = evaluate(facts(), T, NOW);
    expect(statusOfAll([app], T, [])).toEqual(statusOfAll([app], T));
    expect(statusOfAll([app], T).line).not.toContain('system');
  });
});
