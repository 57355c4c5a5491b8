import { describe, expect, it } from 'vitest';
import { parseHistory, timelineChain, timelineOfSegment } from '../../../lib/wal/history.ts';
import { parseLsn } from '../../../lib/wal/names.ts';

const MB = 1024 * 1024;
// what PostgreSQL 15 writes into 00000003.history after two promotions
const HISTORY_3 = '1\t0/5000060\tno recovery target specified\n\n2\t0/9A00000\tbefore 2026-11-23 03:17:00+00\n';

describe('timeline history files', () => {
  it('reads the parent timelines and their switchpoints', () => {
    expect(parseHistory(HISTORY_3, 3)).toEqual([
      { parent: 1, switchpoint: parseLsn('0/5000060'), reason: 'no recovery target specified' },
      { parent: 2, switchpoint: parseLsn('0/9A00000'), reason: 'before 2026-11-23 03:17:00+00' },
    ]);
  });

  it('ignores comments and blank lines', () => {
    expect(parseHistory('# comment\n\n1\t0/3000000\treason\n', 2)).toHaveLength(1);
  });

  it('refuses lines that are not timeline, LSN, reason, and timelines that do not increase', () => {
    expect(() => parseHistory('1 nonsense\n', 2)).toThrow(/00000002.history line 1/);
    expect(() => parseHistory('2\t0/3000000\tx\n', 2)).toThrow(/must increase/);
    expect(() => parseHistory('1\t0/5000000\tx\n1\t0/6000000\ty\n', 3)).toThrow(/must increase/);
    expect(() => parseHistory('1\t0/5000000\tx\n2\t0/4000000\ty\n', 3)).toThrow(/must increase/);
  });

  it('builds the chain recovery follows, oldest first', () => {
    const chain = timelineChain(parseHistory(HISTORY_3, 3), 3);
    expect(chain).toEqual([
      { timeline: 1, begin: 0n, end: parseLsn('0/5000060') },
      { timeline: 2, begin: parseLsn('0/5000060'), end: parseLsn('0/9A00000') },
      { timeline: 3, begin: parseLsn('0/9A00000') },
    ]);
    expect(timelineChain([], 1)).toEqual([{ timeline: 1, begin: 0n }]);
  });

  it('reads the segment holding a switchpoint from the new timeline, as recovery does', () => {
    const chain = timelineChain(parseHistory(HISTORY_3, 3), 3);
    expect(timelineOfSegment(chain, 4, 16 * MB)).toBe(1);
    // 0/5000060 lies in segment 5: timeline 2 starts there
    expect(timelineOfSegment(chain, 5, 16 * MB)).toBe(2);
    expect(timelineOfSegment(chain, 8, 16 * MB)).toBe(2);
    // 0/9A00000 lies in segment 9: timeline 3 starts there
    expect(timelineOfSegment(chain, 9, 16 * MB)).toBe(3);
    expect(timelineOfSegment(chain, 1000, 16 * MB)).toBe(3);
  });
});
