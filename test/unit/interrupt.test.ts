import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { watchInterrupts } from '../../lib/interrupt.ts';
import { createLogger } from '../../lib/log.ts';

// SIGTERM and SIGINT: the first aborts the task; a second one, or the grace running out, abandons it.
const logger = () => createLogger({ task: 'backup', format: 'json', stream: { write: () => true } });

describe('stopping on a signal', () => {
  it('aborts at the first signal and abandons at the second, saying what the task did last', async () => {
    const log = logger();
    const signals = new EventEmitter();
    const watch = watchInterrupts('backup', log, { on: signals, graceMs: 3_600_000 });
    log.info('start', 'backup 20261122T031700Z of postgresql://backup@db1:5432/app');
    signals.emit('SIGTERM', 'SIGTERM');
    expect(watch.signal.aborted).toBe(true);
    expect((watch.signal.reason as Error).message).toBe('interrupted by SIGTERM');
    signals.emit('SIGINT', 'SIGINT');
    await expect(watch.abandoned).rejects.toMatchObject({ code: 2, message: expect.stringMatching(/^interrupted by SIGTERM and abandoned: backup did not stop \(last step: start: backup 20261122T031700Z/) });
    const abandoned = log.entries.find((e) => e.kind === 'abandoned')!;
    expect(abandoned.message).toMatch(/^received SIGINT again: abandoning backup, which was still running \(last step: start: backup 20261122T031700Z /);
    watch.dispose();
  });

  it('abandons when the task has not stopped within the grace', async () => {
    const log = logger();
    const signals = new EventEmitter();
    const watch = watchInterrupts('backup', log, { on: signals, graceMs: 20 });
    signals.emit('SIGINT', 'SIGINT');
    await expect(watch.abandoned).rejects.toMatchObject({ code: 2 });
    expect(log.entries.map((e) => [e.kind, e.level])).toEqual([['signal', 'warn'], ['abandoned', 'error']]);
    expect(log.entries[1].message).toMatch(/^did not stop within 0\.0s of SIGINT: abandoning backup, which was still running \(before its first step/);
    watch.dispose();
  });

  it('removes its handlers when disposed', () => {
    const signals = new EventEmitter();
    const watch = watchInterrupts('backup', logger(), { on: signals });
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    watch.dispose();
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
    expect(watch.signal.aborted).toBe(false);
  });
});
