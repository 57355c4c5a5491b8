import { describe, expect, it } from 'vitest';
import { checkWithin, timedOut, timeoutText } from '../../../lib/check/deadline.ts';
import { checkResult } from '../../../lib/check/result.ts';
import { usageError } from '../../../lib/errors.ts';
import { silentLogger } from '../../../lib/log.ts';

const ctx = (signal = new AbortController().signal) => ({ signal, log: silentLogger('status') });
// work that ends only when its signal aborts, as a cancelled query does
const untilAborted = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

describe('a check under --timeout', () => {
  it('returns what the check found when it finishes in time, with the time left to spend', async () => {
    let left = 0;
    const r = await checkWithin('STATUS', ctx(), 60_000, async (d) => {
      left = d.remainingMs();
      return checkResult(1, 'PGOPS STATUS WARNING - old', {});
    });
    expect(r.exitCode).toBe(1);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(60_000);
  });

  it('is UNKNOWN with the error and its hint when the check cannot run', async () => {
    const c = ctx();
    const r = await checkWithin('WAL', c, 60_000, async () => {
      throw usageError('cannot connect to postgresql://monitor@db1/app', 'is the server up?');
    }, { findings: [] });
    expect(r).toMatchObject({ exitCode: 3, summary: 'PGOPS WAL UNKNOWN - cannot connect to postgresql://monitor@db1/app', data: { status: 'UNKNOWN', findings: [] } });
    expect(c.log.entries).toMatchObject([{ level: 'error', kind: 'failed', hint: 'is the server up?' }]);
  });

  it('at the timeout aborts the work, waits for it to stop, and says UNKNOWN "timed out after"', async () => {
    const c = ctx();
    let stopped = false;
    const r = await checkWithin('HEALTH', c, 20, async (d) => {
      await untilAborted(d.signal).catch((err) => {
        stopped = true;
        throw err;
      });
      return checkResult(0, 'never', {});
    }, { checks: [] });
    expect(stopped).toBe(true);
    expect(r).toMatchObject({ exitCode: 3, summary: 'PGOPS HEALTH UNKNOWN - timed out after 20ms', data: { status: 'UNKNOWN', checks: [], timedOut: true } });
    expect(c.log.entries.map((e) => `${e.level} ${e.kind}`)).toEqual(['warn timeout', 'error failed']);
    expect(c.log.entries[1].hint).toMatch(/--timeout 20ms is the limit, keep it below the monitor's own timeout/);
  });

  it("reports a timeout even when the work does not stop, after waiting for it at most the stop wait", async () => {
    const r = await checkWithin('STATUS', ctx(), 10, () => new Promise(() => {}), {}, 10);
    expect(r.summary).toBe('PGOPS STATUS UNKNOWN - timed out after 10ms');
  });

  it('has no limit without a timeout or with 0', async () => {
    for (const t of [undefined, 0]) {
      const r = await checkWithin('VERIFY', ctx(), t, async (d) => {
        expect(d.remainingMs()).toBe(Infinity);
        await new Promise((resolve) => setTimeout(resolve, 30));
        return checkResult(0, 'PGOPS VERIFY OK - fine', {});
      });
      expect(r.exitCode).toBe(0);
    }
  });

  it("lets the run's interrupt through, as every task's", async () => {
    const interrupt = new AbortController();
    const running = checkWithin('STATUS', ctx(interrupt.signal), 60_000, (d) => untilAborted(d.signal));
    interrupt.abort(usageError('interrupted by SIGTERM'));
    await expect(running).rejects.toThrow('interrupted by SIGTERM');
  });

  it('writes the timeout as the operator did', () => {
    expect(timeoutText(50_000)).toBe('50s');
    expect(timeoutText(90_000)).toBe('90s');
    expect(timeoutText(3_600_000)).toBe('1h00m');
    expect(timedOut(50_000)).toMatchObject({ message: 'timed out after 50s', code: 3 });
  });
});
