import { describe, expect, it } from 'vitest';
import { evaluate, type DatabaseFacts, type Thresholds } from '../../lib/tasks/status/evaluate.ts';

const NOW = new Date('2026-11-22T12:00:00Z');
const HOUR = 3_600_000;
const T: Thresholds = { backupWarnMs: 26 * HOUR, backupCritMs: 52 * HOUR, drillWarnMs: 8 * 24 * HOUR, drillCritMs: 16 * 24 * HOUR };
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
});
