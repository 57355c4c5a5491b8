import { describe, expect, it } from 'vitest';
import { describeTarget, parseTargetTime, recoverySettings, targetFromOptions } from '../../../../lib/tasks/recover/target.ts';

describe('the recovery target', () => {
  it('is latest when none is given, and immediate or latest from --target', () => {
    expect(targetFromOptions({})).toEqual({ kind: 'latest' });
    expect(targetFromOptions({ target: 'immediate' })).toEqual({ kind: 'immediate' });
    expect(targetFromOptions({ target: 'latest' })).toEqual({ kind: 'latest' });
    // any other --target named a config target (run-task resolved it): no recovery target
    expect(targetFromOptions({ target: 'main' })).toEqual({ kind: 'latest' });
  });

  it('refuses two targets at once (exit 3), naming them', () => {
    expect(() => targetFromOptions({ target: 'immediate', targetLsn: '0/5000060' })).toThrow(/one target, and --target immediate and --target-lsn were given/);
    try {
      targetFromOptions({ targetTime: '2026-11-30 03:12:00+00', targetXid: '900', targetName: 'x' });
    } catch (err) {
      expect((err as { code: number }).code).toBe(3);
      expect((err as Error).message).toMatch(/--target-time and --target-xid and --target-name/);
    }
  });

  it('reads a time as PostgreSQL prints timestamptz, with its zone, and assumes UTC without one', () => {
    expect(parseTargetTime('2026-11-30 03:12:00+00')).toEqual({ time: new Date('2026-11-30T03:12:00Z'), text: '2026-11-30 03:12:00+00', assumedUtc: false });
    expect(parseTargetTime('2026-11-30 04:12:00.250+01').time).toEqual(new Date('2026-11-30T03:12:00.250Z'));
    expect(parseTargetTime('2026-11-30T04:12:00+0100').time).toEqual(new Date('2026-11-30T03:12:00Z'));
    expect(parseTargetTime('2026-11-30 01:42:00-01:30').time).toEqual(new Date('2026-11-30T03:12:00Z'));
    expect(parseTargetTime('2026-11-30 03:12:00.123456 UTC').time).toEqual(new Date('2026-11-30T03:12:00.123Z'));
    expect(parseTargetTime('2026-11-30 03:12Z').time).toEqual(new Date('2026-11-30T03:12:00Z'));
    expect(parseTargetTime('2026-11-30 03:12:00')).toEqual({ time: new Date('2026-11-30T03:12:00Z'), text: '2026-11-30 03:12:00+00', assumedUtc: true });
  });

  it('refuses a time it cannot check: garbage, a named zone, a day that does not exist', () => {
    expect(() => parseTargetTime('yesterday')).toThrow(/invalid --target-time "yesterday"/);
    expect(() => parseTargetTime('2026-11-30 03:12:00 Europe/Berlin')).toThrow(/invalid --target-time/);
    expect(() => parseTargetTime('2026-13-45 03:12:00+00')).toThrow(/not a real moment/);
    expect(() => parseTargetTime('2026-02-29 03:12:00+00')).toThrow(/not a real moment/);
    expect(parseTargetTime('2028-02-29 03:12:00+00').time).toEqual(new Date('2028-02-29T03:12:00Z'));
  });

  it('checks LSNs, xids and restore point names', () => {
    expect(targetFromOptions({ targetLsn: '0/5000060' })).toEqual({ kind: 'lsn', lsn: '0/5000060' });
    expect(targetFromOptions({ targetLsn: '16/b374d848' })).toEqual({ kind: 'lsn', lsn: '16/B374D848' });
    expect(() => targetFromOptions({ targetLsn: '5000060' })).toThrow(/invalid --target-lsn "5000060"/);
    expect(targetFromOptions({ targetXid: '735' })).toEqual({ kind: 'xid', xid: '735' });
    expect(() => targetFromOptions({ targetXid: '-1' })).toThrow(/invalid --target-xid/);
    expect(() => targetFromOptions({ targetXid: '2' })).toThrow(/invalid --target-xid/);
    expect(targetFromOptions({ targetName: 'before-migration' })).toEqual({ kind: 'name', name: 'before-migration' });
    expect(() => targetFromOptions({ targetName: 'x'.repeat(64) })).toThrow(/1 to 63 bytes/);
  });

  it('describes itself for messages', () => {
    expect(describeTarget({ kind: 'latest' })).toBe('latest');
    expect(describeTarget(targetFromOptions({ targetTime: '2026-11-30 03:12:00+00' }))).toBe('time 2026-11-30 03:12:00+00');
    expect(describeTarget({ kind: 'lsn', lsn: '0/5000060' })).toBe('lsn 0/5000060');
    expect(describeTarget({ kind: 'name', name: 'p' })).toBe('name p');
  });

  it('writes the other target settings empty before its own (PostgreSQL applies them in order), then the action', () => {
    expect(Object.entries(recoverySettings({ kind: 'lsn', lsn: '0/5000060' }, 'pause'))).toEqual([
      ['recovery_target', ''],
      ['recovery_target_time', ''],
      ['recovery_target_xid', ''],
      ['recovery_target_name', ''],
      ['recovery_target_lsn', '0/5000060'],
      ['recovery_target_inclusive', 'on'],
      ['recovery_target_timeline', 'latest'],
      ['recovery_target_action', 'pause'],
    ]);
    expect(recoverySettings({ kind: 'immediate' }, 'promote')).toMatchObject({ recovery_target: 'immediate', recovery_target_action: 'promote' });
    // the end of the archive: no target, and so no action (PostgreSQL ignores it and promotes)
    const latest = recoverySettings({ kind: 'latest' }, 'promote');
    expect(Object.values(latest).filter((v) => v !== '' && v !== 'on' && v !== 'latest')).toEqual([]);
    expect(latest).not.toHaveProperty('recovery_target_action');
  });
});
