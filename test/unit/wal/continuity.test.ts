import { describe, expect, it } from 'vitest';
import { endSegment } from '../../../lib/tasks/wal/check/repository.ts';
import { checkContinuity, describeRange, windowStart, type ArchivedFile } from '../../../lib/wal/continuity.ts';
import { parseHistory, timelineChain } from '../../../lib/wal/history.ts';
import { segmentName } from '../../../lib/wal/names.ts';

const SEG = 16 * 1024 * 1024;
const T1 = timelineChain([], 1);
// timeline 2 began in segment 5 (switchpoint 0/5000060)
const T2 = timelineChain(parseHistory('1\t0/5000060\tno recovery target specified\n', 2), 2);

function archive(names: string[], extra: Partial<ArchivedFile> = {}): Map<string, ArchivedFile> {
  return new Map(names.map((name) => [name, { name, complete: true, rawSize: SEG, modified: new Date('2026-11-23T03:00:00Z'), ...extra }]));
}
const seg = (tli: number, n: number) => segmentName(tli, n, SEG);
const range = (tli: number, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => seg(tli, from + i));

describe('archive continuity', () => {
  it('is continuous when every segment from start to end is archived', () => {
    const c = checkContinuity(archive(range(1, 2, 9)), T1, 2, 9, SEG);
    expect(c).toMatchObject({ first: seg(1, 2), last: seg(1, 9), expected: 8, missingCount: 0, missing: [], wrongSize: [] });
  });

  it('names every missing range', () => {
    const files = archive(range(1, 1, 20).filter((n) => ![seg(1, 5), seg(1, 9), seg(1, 10), seg(1, 11), seg(1, 20)].includes(n)));
    const c = checkContinuity(files, T1, 1, 20, SEG);
    expect(c.missingCount).toBe(5);
    expect(c.missing.map(describeRange)).toEqual([seg(1, 5), `${seg(1, 9)}..${seg(1, 11)} (3 segments)`, seg(1, 20)]);
  });

  it('counts a file without its sidecar (a push that did not finish) as missing', () => {
    const files = archive(range(1, 1, 3));
    files.set(seg(1, 2), { name: seg(1, 2), complete: false, rawSize: SEG });
    expect(checkContinuity(files, T1, 1, 3, SEG).missing.map(describeRange)).toEqual([seg(1, 2)]);
  });

  it('follows the history file across a timeline switch', () => {
    // recovery reads 1..4 from timeline 1 and 5.. from timeline 2; timeline 1's partial segment 5 is not needed
    const files = archive([...range(1, 1, 4), `${seg(1, 5)}.partial`, ...range(2, 5, 8)]);
    expect(checkContinuity(files, T2, 1, 8, SEG).missingCount).toBe(0);
    const gap = archive([...range(1, 1, 5), ...range(2, 6, 8)]);
    expect(checkContinuity(gap, T2, 1, 8, SEG).missing.map(describeRange)).toEqual([seg(2, 5)]);
  });

  it('flags uncompressed segments of the wrong size', () => {
    const files = archive(range(1, 1, 3));
    files.set(seg(1, 2), { name: seg(1, 2), complete: true, rawSize: 1234 });
    files.set(seg(1, 3), { name: seg(1, 3), complete: true, rawSize: undefined });
    expect(checkContinuity(files, T1, 1, 3, SEG).wrongSize).toEqual([{ name: seg(1, 2), size: 1234 }]);
  });
});

describe('where the continuity check starts', () => {
  const now = new Date('2026-11-23T12:00:00Z');
  it('starts at the oldest base backup label on the timeline (backup), else at the oldest segment', () => {
    const files = archive([...range(1, 1, 9), `${seg(1, 4)}.00000028.backup`, `${seg(1, 7)}.00000060.backup`]);
    expect(windowStart(files, T1, SEG, { mode: 'backup' }, now)).toEqual({ start: 4, basis: `the oldest base backup label ${seg(1, 4)}.00000028.backup` });
    expect(windowStart(archive(range(1, 3, 9)), T1, SEG, { mode: 'backup' }, now)?.start).toBe(3);
    expect(windowStart(files, T1, SEG, { mode: 'all' }, now)?.start).toBe(1);
  });

  it('starts at the oldest segment archived within a time window', () => {
    const files = archive(range(1, 1, 3), { modified: new Date('2026-11-20T00:00:00Z') });
    for (const n of range(1, 4, 6)) files.set(n, { name: n, complete: true, rawSize: SEG, modified: new Date('2026-11-23T11:00:00Z') });
    expect(windowStart(files, T1, SEG, { mode: 'since', ms: 86_400_000 }, now)?.start).toBe(4);
    expect(windowStart(files, T1, SEG, { mode: 'since', ms: 60_000 }, now)).toBeUndefined();
  });

  it('ignores segments of timelines recovery does not follow', () => {
    const files = archive([...range(3, 1, 9), ...range(1, 6, 9)]);
    expect(windowStart(files, T1, SEG, { mode: 'all' }, now)?.start).toBe(6);
  });
});

describe('where the continuity check ends', () => {
  const files = archive(range(1, 1, 9));
  it('ends at the segment the server archived last', () => {
    expect(endSegment(seg(1, 7), T1, SEG, files)).toBe(7);
  });
  it('ends before a partial segment or a backup label, whose segment may still be on its way', () => {
    expect(endSegment(`${seg(1, 5)}.partial`, T2, SEG, files)).toBe(4);
    expect(endSegment(`${seg(1, 8)}.00000028.backup`, T1, SEG, files)).toBe(7);
  });
  it('ends before the switch segment when the last archived segment is the old timeline\'s copy of it', () => {
    expect(endSegment(seg(1, 5), T2, SEG, files)).toBe(4);
  });
  it('falls back to the newest archived segment when the server names none (stats reset, history file)', () => {
    expect(endSegment(null, T1, SEG, files)).toBe(9);
    expect(endSegment('00000002.history', T1, SEG, files)).toBe(9);
    expect(endSegment(null, T1, SEG, new Map())).toBeUndefined();
  });
});
