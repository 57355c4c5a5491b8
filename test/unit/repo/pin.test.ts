import { describe, expect, it } from 'vitest';
import { PgopsError } from '../../../lib/errors.ts';
import { pinState, pinText, setMarks } from '../../../lib/repo/pin.ts';

const NOW = new Date('2026-12-01T03:17:00.000Z');

describe('setMarks', () => {
  it('records the label and the pin as now + pin', () => {
    expect(setMarks({ label: 'pre-migration-42', pin: 30 * 86_400_000 }, NOW)).toEqual({ label: 'pre-migration-42', pinnedUntil: '2026-12-31T03:17:00.000Z' });
    expect(setMarks({}, NOW)).toEqual({});
  });

  it('takes a pin without a label, and a label without a pin', () => {
    expect(setMarks({ pin: 3_600_000 }, NOW)).toEqual({ pinnedUntil: '2026-12-01T04:17:00.000Z' });
    expect(setMarks({ label: 'v1.2_rc.3' }, NOW)).toEqual({ label: 'v1.2_rc.3' });
  });

  it.each(['', 'two words', 'a/b', 'naïve', 'x'.repeat(101), '$(reboot)'])('refuses the label %j with exit 3 and a hint', (label) => {
    const err = (() => {
      try {
        setMarks({ label }, NOW);
      } catch (e) {
        return e;
      }
    })() as PgopsError;
    expect(err).toBeInstanceOf(PgopsError);
    expect(err.code).toBe(3);
    expect(err.message).toMatch(/^invalid --label ".*": expected 1 to 100 characters of letters, digits, "\.", "_" and "-"$/);
    expect(err.hint).toContain('--backup label:NAME');
  });

  it('accepts a label of 100 characters', () => {
    expect(setMarks({ label: 'x'.repeat(100) }, NOW).label).toHaveLength(100);
  });
});

describe('pinState and pinText', () => {
  it('tells a pin that holds from one that expired, one that is no time and none', () => {
    expect(pinState('2026-12-31T03:17:00.000Z', NOW)).toEqual({ state: 'holds', until: '2026-12-31T03:17:00Z' });
    expect(pinState('2026-12-01T03:17:00.000Z', NOW)).toEqual({ state: 'expired', until: '2026-12-01T03:17:00Z' });
    expect(pinState('soon', NOW)).toEqual({ state: 'unreadable', until: 'soon' });
    expect(pinState(undefined, NOW)).toEqual({ state: 'none' });
    expect(pinText('2026-12-31T03:17:00.000Z', NOW)).toBe('2026-12-31T03:17:00Z');
    expect(pinText('2026-11-01T00:00:00.000Z', NOW)).toBe('expired 2026-11-01T00:00:00Z');
    expect(pinText(null, NOW)).toBe('-');
  });
});
