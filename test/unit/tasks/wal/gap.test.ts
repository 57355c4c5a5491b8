import { describe, expect, it } from 'vitest';
import { firstLaterSegment } from '../../../../lib/tasks/wal/gap.ts';

const TL1 = (n: number) => `00000001000000000000000${n.toString(16).toUpperCase()}`;

describe('a WAL file missing from the middle of the archive', () => {
  it('is a gap when a later segment of its timeline is archived, and names the first one after it', () => {
    expect(firstLaterSegment(TL1(4), [TL1(2), TL1(3), TL1(7), TL1(5), TL1(6)])).toBe(TL1(5));
  });

  it('is the end of the archive when nothing after it is archived on its timeline', () => {
    expect(firstLaterSegment(TL1(8), [TL1(2), TL1(3), TL1(7)])).toBeUndefined();
    expect(firstLaterSegment(TL1(2), [])).toBeUndefined();
  });

  it('ignores other timelines, history, backup labels and partial segments', () => {
    const archived = ['000000020000000000000009', '00000002.history', '000000010000000000000009.partial', '000000010000000000000003.00000028.backup'];
    expect(firstLaterSegment(TL1(4), archived)).toBeUndefined();
    expect(firstLaterSegment('000000020000000000000008', archived)).toBe('000000020000000000000009');
  });

  it('orders across the log boundary (segment FF, then the next log)', () => {
    expect(firstLaterSegment('0000000100000000000000FE', ['000000010000000100000000'])).toBe('000000010000000100000000');
  });

  it('never calls a history file or a partial segment a gap', () => {
    expect(firstLaterSegment('00000003.history', [TL1(9)])).toBeUndefined();
    expect(firstLaterSegment(`${TL1(4)}.partial`, [TL1(9)])).toBeUndefined();
  });
});
