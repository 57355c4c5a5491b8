import { describe, expect, it } from 'vitest';
import { archiveEndCheck, gapCheck, limitChecks, recoveredThrough, resultOf, targetCheck } from '../../../../../lib/tasks/drill/pitr/checks.ts';
import type { ReplayStop } from '../../../../../lib/repo/pitr-drill-reports.ts';

const SEG = 16 * 1024 * 1024;
const promoted: ReplayStop = { reached: true, state: 'promoted', lsn: '0/8003F20', timeline: 2, lastTransactionTime: '2026-12-01T13:32:11.766+00:00' };

describe('point-in-time drill checks', () => {
  it('passes the target when the server promoted there, and names where replay stopped', () => {
    expect(targetCheck('latest', promoted)).toEqual({
      name: 'recovery target', status: 'pass',
      detail: 'reached latest: replay stopped at 0/8003F20, now on timeline 2, the server promoted; last replayed transaction at 2026-12-01T13:32:11.766+00:00',
    });
  });

  it('fails the target with the reason from the server log (the exit 128 line naming the segment)', () => {
    const failed: ReplayStop = { reached: false, state: 'failed', lsn: '0/6000100', timeline: 1, lastTransactionTime: null, reason: 'FATAL:  could not restore file "000000010000000000000007" from archive: child process exited with exit code 128' };
    const c = targetCheck('latest', failed);
    expect(c.status).toBe('fail');
    expect(c.detail).toBe('did not reach latest (the server failed at 0/6000100, now on timeline 1): FATAL:  could not restore file "000000010000000000000007" from archive: child process exited with exit code 128');
  });

  it('passes the archive end when replay got into or past the last archived segment, fails when it stopped before', () => {
    expect(archiveEndCheck(promoted, { segment: '000000010000000000000008' }, SEG).status).toBe('pass');
    expect(archiveEndCheck(promoted, { segment: '000000010000000000000007' }, SEG).status).toBe('pass');
    const early = archiveEndCheck(promoted, { segment: '000000010000000000000009' }, SEG);
    expect(early).toMatchObject({ status: 'fail', expected: '000000010000000000000009', found: '0/8003F20' });
    expect(early.detail).toContain('the rest of the archive was not replayed');
    // the segment number, not the timeline: replay ends on the old timeline's LSN, the server is on a new one
    expect(archiveEndCheck({ ...promoted, lsn: '1/0' }, { segment: '0000000100000000000000FF' }, SEG).status).toBe('pass');
    expect(archiveEndCheck({ ...promoted, lsn: null }, { segment: '000000010000000000000008' }, SEG).status).toBe('fail');
  });

  it('fails the archive check naming the missing segment, and passes a continuous one', () => {
    expect(gapCheck('000000010000000000000007', undefined)).toMatchObject({ name: 'wal archive', status: 'fail', expected: '000000010000000000000007' });
    expect(gapCheck('000000010000000000000007', undefined).detail).toContain('WAL file 000000010000000000000007 is missing');
    expect(gapCheck('000000010000000000000007', undefined, 'recover said so').detail).toBe('recover said so');
    expect(gapCheck(undefined, { first: '000000010000000000000005', last: '000000010000000000000008', segments: 4 })).toEqual({ name: 'wal archive', status: 'pass', detail: 'continuous from 000000010000000000000005 to 000000010000000000000008 (4 segments)' });
  });

  it('dates the recovered data by the last replayed transaction, else by the base backup end', () => {
    expect(recoveredThrough(promoted, '2026-12-01T13:00:00Z')).toEqual({ time: promoted.lastTransactionTime, basis: 'the last replayed transaction' });
    expect(recoveredThrough({ ...promoted, lastTransactionTime: null }, '2026-12-01T13:00:00Z').time).toBe('2026-12-01T13:00:00Z');
  });

  it('grades RPO and RTO against their limits only when limits are set', () => {
    expect(limitChecks({ rpoMs: 1000, rtoMs: 2000 })).toEqual([]);
    const [rpo, rto] = limitChecks({ rpoMs: 2 * 3_600_000, rtoMs: 60_000 }, 3_600_000, 30_000);
    expect(rpo).toMatchObject({ name: 'rpo', status: 'fail', expected: 3_600_000, found: 7_200_000 });
    expect(rpo.detail).toContain('2h00m old at drill start, over the limit of 1h00m');
    expect(rto).toMatchObject({ name: 'rto', status: 'fail' });
    expect(limitChecks({ rpoMs: 1000, rtoMs: 1000 }, 3_600_000, 30_000).map((c) => c.status)).toEqual(['pass', 'pass']);
    expect(limitChecks({ rpoMs: null, rtoMs: null }, 1, 1).map((c) => c.status)).toEqual(['skip', 'skip']);
  });

  it('fails the drill when any check fails, notes and skips included', () => {
    expect(resultOf([{ name: 'a', status: 'pass' }, { name: 'b', status: 'skip' }, { name: 'c', status: 'note' }])).toBe('pass');
    expect(resultOf([{ name: 'a', status: 'pass' }, { name: 'b', status: 'fail' }])).toBe('fail');
  });
});
