import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.ts';
import { backoffDelay, isLockConflict, withLockRetry } from '../../../lib/pg/lock-retry.ts';

const lockTimeout = () => Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' });

describe('retry on lock timeout', () => {
  it('doubles the wait from the base, capped', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 10_000))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(backoffDelay(20, 10_000, 300_000)).toBe(300_000);
  });

  it('knows a lock timeout and a deadlock from other errors', () => {
    expect(isLockConflict(lockTimeout())).toBe(true);
    expect(isLockConflict({ code: '40P01' })).toBe(true);
    expect(isLockConflict({ code: '57014' })).toBe(false);
    expect(isLockConflict(new Error('x'))).toBe(false);
  });

  it('tries again after a lock timeout, cleaning up after each failure, and logs each retry', async () => {
    const log = silentLogger();
    const cleaned: number[] = [];
    let calls = 0;
    const r = await withLockRetry(async () => {
      if (++calls < 3) throw lockTimeout();
      return 'ok';
    }, { retries: 3, baseDelayMs: 1, log, what: 'REINDEX x', afterFailure: async (_e, n) => void cleaned.push(n) });
    expect(r).toEqual({ ok: true, value: 'ok', attempts: 3 });
    expect(cleaned).toEqual([1, 2]);
    expect(log.entries.filter((e) => e.kind === 'retry').map((e) => e.message)).toEqual([
      'REINDEX x: canceling statement due to lock timeout (attempt 1 of 4); retrying in 0.0s',
      'REINDEX x: canceling statement due to lock timeout (attempt 2 of 4); retrying in 0.0s',
    ]);
  });

  it('gives up after the bounded retries, and never retries other errors', async () => {
    let calls = 0;
    const gaveUp = await withLockRetry(async () => {
      calls++;
      throw lockTimeout();
    }, { retries: 2, baseDelayMs: 1, log: silentLogger(), what: 'x' });
    expect(gaveUp).toMatchObject({ ok: false, attempts: 3, lockConflict: true });
    expect(calls).toBe(3);
    const other = await withLockRetry(async () => {
      throw Object.assign(new Error('duplicate key'), { code: '23505' });
    }, { retries: 5, baseDelayMs: 1, log: silentLogger(), what: 'x' });
    expect(other).toMatchObject({ ok: false, attempts: 1, lockConflict: false });
  });

  it('starts no wait that would end past the deadline', async () => {
    const r = await withLockRetry(async () => {
      throw lockTimeout();
    }, { retries: 5, baseDelayMs: 60_000, log: silentLogger(), what: 'x', deadline: Date.now() + 1000 });
    expect(r).toMatchObject({ ok: false, attempts: 1 });
  });

  it('stops waiting at once when the run is interrupted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('interrupted by SIGTERM')), 20);
    const started = Date.now();
    await expect(withLockRetry(async () => {
      throw lockTimeout();
    }, { retries: 5, baseDelayMs: 60_000, log: silentLogger(), what: 'x', signal: ac.signal })).rejects.toThrow('interrupted by SIGTERM');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
