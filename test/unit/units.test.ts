import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../lib/units.ts';

describe('durations and sizes in PostgreSQL units', () => {
  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('5min')).toBe(300_000);
    expect(parseDuration('26h')).toBe(26 * 3_600_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30')).toBe(30_000);
  });
  it('refuses a duration it cannot read, saying how to write one', () => {
    expect(() => parseDuration('5 parsecs', '--max-age')).toThrow(/invalid --max-age "5 parsecs"/);
    try {
      parseDuration('x');
    } catch (e) {
      expect((e as { hint: string }).hint).toMatch(/90s, 5m/);
      expect((e as { code: number }).code).toBe(3);
    }
  });
  it('parses sizes case-sensitively like PostgreSQL', () => {
    expect(parseSize('512kB')).toBe(512 * 1024);
    expect(parseSize('10MB')).toBe(10 * 1024 ** 2);
    expect(parseSize('1GB')).toBe(1024 ** 3);
    expect(parseSize('100')).toBe(100);
    expect(() => parseSize('10mb')).toThrow(/invalid size "10mb"/);
  });
  it('formats', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1536)).toBe('1.5 kB');
    expect(formatSize(3 * 1024 ** 3)).toBe('3.0 GB');
    expect(formatDuration(1234)).toBe('1.2s');
    expect(formatDuration(184_000)).toBe('3m04s');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000)).toBe('2h05m');
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d04h');
  });
});
