import { describe, expect, it } from 'vitest';
import { formatLsn, historyFileName, isValidSegmentSize, parseLsn, parseWalFileName, segmentName, segmentBeforeLsn, segmentNumber, segmentOfLsn } from '../../../lib/wal/names.ts';

const MB = 1024 * 1024;

describe('WAL file names', () => {
  it('tells segments, partial segments, history files and backup labels apart', () => {
    expect(parseWalFileName('000000010000000A000000FF')).toEqual({ name: '000000010000000A000000FF', kind: 'segment', timeline: 1, log: 10, seg: 255 });
    expect(parseWalFileName('000000020000000000000003.partial')?.kind).toBe('partial');
    expect(parseWalFileName('00000002.history')).toEqual({ name: '00000002.history', kind: 'history', timeline: 2 });
    expect(parseWalFileName('000000010000000000000002.00000028.backup')).toMatchObject({ kind: 'backup', timeline: 1, log: 0, seg: 2 });
  });

  it('refuses names PostgreSQL never archives', () => {
    for (const bad of ['00000001000000000000000', '000000010000000000000001.gz', 'RECOVERYXLOG', '000000000000000000000001', '00000001000000000000000g', '../000000010000000000000001']) {
      expect(parseWalFileName(bad)).toBeUndefined();
    }
  });

  it('numbers segments by 4 GB logs of the segment size', () => {
    expect(segmentName(1, 0, 16 * MB)).toBe('000000010000000000000000');
    expect(segmentName(1, 255, 16 * MB)).toBe('0000000100000000000000FF');
    expect(segmentName(1, 256, 16 * MB)).toBe('000000010000000100000000');
    expect(segmentName(3, 4097, 1024 * MB)).toBe('000000030000040000000001');
    expect(segmentName(1, 4096 + 5, MB)).toBe('000000010000000100000005');
    for (const size of [MB, 16 * MB, 64 * MB, 1024 * MB]) {
      for (const segno of [0, 1, 255, 256, 4095, 123_456_789]) {
        expect(segmentNumber(parseWalFileName(segmentName(7, segno, size))!, size)).toBe(segno);
      }
    }
  });

  it('refuses a seg part that does not exist at the segment size', () => {
    // 1 GB segments: only 4 per log, so seg 4 and above are impossible
    expect(segmentNumber(parseWalFileName('000000010000000000000004')!, 1024 * MB)).toBeUndefined();
  });

  it('accepts only PostgreSQL segment sizes', () => {
    expect(isValidSegmentSize(16 * MB)).toBe(true);
    expect(isValidSegmentSize(MB)).toBe(true);
    expect(isValidSegmentSize(1024 * MB)).toBe(true);
    expect(isValidSegmentSize(512 * 1024)).toBe(false);
    expect(isValidSegmentSize(2048 * MB)).toBe(false);
    expect(isValidSegmentSize(24 * MB)).toBe(false);
  });

  it('reads and writes LSNs as PostgreSQL prints them, beyond 2^53', () => {
    expect(parseLsn('0/3000000')).toBe(0x3000000n);
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(formatLsn(parseLsn('FFFFFFFF/FFFFFFFF'))).toBe('FFFFFFFF/FFFFFFFF');
    expect(() => parseLsn('16B374D848')).toThrow(/invalid LSN/);
    expect(segmentOfLsn(parseLsn('0/3000000'), 16 * MB)).toBe(3);
    expect(segmentOfLsn(parseLsn('0/2FFFFFF'), 16 * MB)).toBe(2);
    expect(segmentName(1, segmentOfLsn(parseLsn('16/B374D848'), 16 * MB), 16 * MB)).toBe('0000000100000016000000B3');
  });

  it('finds the segment of the last byte before an LSN, as XLByteToPrevSeg does (a base backup\'s stop segment)', () => {
    expect(segmentBeforeLsn(parseLsn('0/2000100'), 16 * MB)).toBe(2);
    // a backup that ends exactly on a segment boundary needs the segment before it, not the empty one after
    expect(segmentBeforeLsn(parseLsn('0/3000000'), 16 * MB)).toBe(2);
    expect(segmentBeforeLsn(parseLsn('0/3000001'), 16 * MB)).toBe(3);
    expect(segmentBeforeLsn(parseLsn('1/0'), 16 * MB)).toBe(255);
    expect(segmentBeforeLsn(parseLsn('0/100001'), MB)).toBe(1);
    expect(() => segmentBeforeLsn(0n, 16 * MB)).toThrow(/no WAL lies before LSN 0\/0/);
  });

  it('names history files', () => {
    expect(historyFileName(2)).toBe('00000002.history');
    expect(historyFileName(0x1a)).toBe('0000001A.history');
  });
});
