import { describe, expect, it } from 'vitest';
import { MAX_IDENT_BYTES, checkPattern, defaultPattern, partitionName } from '../../../../lib/tasks/partitions/naming.ts';

const d = (s: string) => new Date(`${s}T00:00:00Z`);

describe('partition names', () => {
  it('follow <parent>_pYYYY_MM and the other defaults', () => {
    expect(partitionName(defaultPattern('month'), 'events', d('2027-01-01'))).toBe('events_p2027_01');
    expect(partitionName(defaultPattern('day'), 'events', d('2027-01-02'))).toBe('events_p2027_01_02');
    expect(partitionName(defaultPattern('week'), 'events', d('2026-12-28'))).toBe('events_p2026w53');
    expect(partitionName(defaultPattern('week'), 'events', d('2024-12-30'))).toBe('events_p2025w01');
    expect(partitionName(defaultPattern('year'), 'events', d('2027-01-01'))).toBe('events_p2027');
  });

  it('keep quotes, spaces and non-ASCII letters of the parent as they are', () => {
    expect(partitionName(defaultPattern('month'), 'Ev"ents ü', d('2027-01-01'))).toBe('Ev"ents ü_p2027_01');
    expect(partitionName('{parent}/{YYYY}-{MM}', 'x"; DROP TABLE t; --', d('2027-01-01'))).toBe('x"; DROP TABLE t; --/2027-01');
  });

  it('shorten the parent part, never the date, to fit 63 bytes of UTF-8', () => {
    const parent = 'ü'.repeat(40); // 80 bytes
    const name = partitionName(defaultPattern('day'), parent, d('2027-01-02'));
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_IDENT_BYTES);
    expect(name.endsWith('_p2027_01_02')).toBe(true);
    expect(name).toBe('ü'.repeat(25) + '_p2027_01_02');
  });

  it('refuse patterns with unknown tokens or that repeat names within the interval', () => {
    expect(() => checkPattern('{parent}_{YYYY}{MON}', 'month')).toThrow(/unknown token \{MON\}/);
    expect(() => checkPattern('{parent}_{YYYY}_{MM}', 'day')).toThrow(/gives two days the same name/);
    expect(() => checkPattern('{parent}_{YYYY}', 'month')).toThrow(/gives two months the same name/);
    expect(() => checkPattern('{parent}_{IYYY}w{IW}', 'week')).not.toThrow();
    expect(() => checkPattern('{parent}_{YYYY}_{MM}_{DD}', 'week')).not.toThrow();
    expect(() => checkPattern('{parent}_{YYYY}_{MM}', 'year')).not.toThrow();
  });
});
