import { describe, expect, it } from 'vitest';
import { LEVEL_NAMES, levelAbove, levelBelow, levelRank, worstFirst, worstLevel, type Level } from '../../../lib/check/level.ts';

const [OK, WARNING, CRITICAL, UNKNOWN] = [0, 1, 2, 3] as const;

describe('check levels', () => {
  it('names the levels by their Nagios exit codes', () => {
    expect(LEVEL_NAMES).toEqual(['OK', 'WARNING', 'CRITICAL', 'UNKNOWN']);
  });

  it('ranks CRITICAL above WARNING above UNKNOWN above OK, as the monitoring plugins combine states', () => {
    const worstToBest: Level[] = [CRITICAL, WARNING, UNKNOWN, OK];
    expect([OK, UNKNOWN, WARNING, CRITICAL].sort((a, b) => levelRank(b) - levelRank(a))).toEqual(worstToBest);
  });

  it('lets the worst level win, OK when there is nothing to combine', () => {
    expect(worstLevel([])).toBe(OK);
    expect(worstLevel([OK, OK])).toBe(OK);
    expect(worstLevel([OK, UNKNOWN])).toBe(UNKNOWN);
    // a check that could not look at one thing does not hide what another found
    expect(worstLevel([UNKNOWN, WARNING])).toBe(WARNING);
    expect(worstLevel([WARNING, UNKNOWN])).toBe(WARNING);
    expect(worstLevel([CRITICAL, UNKNOWN])).toBe(CRITICAL);
    expect(worstLevel([UNKNOWN, CRITICAL, WARNING, OK])).toBe(CRITICAL);
  });

  it('sorts worst first and keeps the order within a level', () => {
    const items = [
      { level: OK, n: 'a' },
      { level: UNKNOWN, n: 'b' },
      { level: WARNING, n: 'c' },
      { level: CRITICAL, n: 'd' },
      { level: UNKNOWN, n: 'e' },
      { level: WARNING, n: 'f' },
    ];
    expect(worstFirst(items).map((i) => i.n)).toEqual(['d', 'c', 'f', 'b', 'e', 'a']);
    expect(items[0].n).toBe('a');
  });

  it('compares against thresholds strictly: at the limit is still fine, an absent limit never fires', () => {
    expect(levelAbove(80, 80, 95)).toBe(OK);
    expect(levelAbove(80.1, 80, 95)).toBe(WARNING);
    expect(levelAbove(96, 80, 95)).toBe(CRITICAL);
    expect(levelAbove(96, undefined, 95)).toBe(CRITICAL);
    expect(levelAbove(1e12)).toBe(OK);
    expect(levelBelow(95, 95, 90)).toBe(OK);
    expect(levelBelow(94.9, 95, 90)).toBe(WARNING);
    expect(levelBelow(89, 95, 90)).toBe(CRITICAL);
    expect(levelBelow(0)).toBe(OK);
  });
});
