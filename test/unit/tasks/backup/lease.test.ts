import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../../lib/log.ts';
import type { Repo } from '../../../../lib/repo/repo.ts';
import { takeLease } from '../../../../lib/tasks/backup/lease.ts';

// Just enough of a repository for the lease: putBytes and delete, recorded.
function memoryRepo() {
  const objects = new Map<string, string>();
  const writes: string[] = [];
  let failPuts = false;
  const repo = {
    url: 'mem://',
    kind: 'file',
    async putBytes(key: string, data: string | Buffer) {
      if (failPuts) throw new Error('store unavailable');
      writes.push(key);
      objects.set(key, data.toString());
      return { key, size: data.length, sha256: '' };
    },
    async delete(keys: string[]) {
      for (const k of keys) objects.delete(k);
    },
  } as unknown as Repo;
  return { repo, objects, writes, failing: (v: boolean) => (failPuts = v) };
}

describe('takeLease', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes the lease at once, renews it each period, and stops renewing when stopped', async () => {
    vi.useFakeTimers();
    let t = Date.parse('2026-11-22T12:00:00Z');
    const now = () => new Date(t);
    const mem = memoryRepo();
    const lease = await takeLease(mem.repo, 'backups/app/20261122T120000Z/', { now, log: silentLogger('backup'), renewMs: 60_000, ttlMs: 600_000 });
    expect(lease.key).toBe('backups/app/20261122T120000Z/lease.json');
    const first = JSON.parse(mem.objects.get(lease.key)!);
    expect(first).toMatchObject({ format: 'pgops-backup-lease', pid: process.pid, renewedAt: '2026-11-22T12:00:00.000Z', expiresAt: '2026-11-22T12:10:00.000Z' });
    t += 60_000;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(JSON.parse(mem.objects.get(lease.key)!).renewedAt).toBe('2026-11-22T12:01:00.000Z');
    await lease.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(mem.writes).toHaveLength(2);
    await lease.release();
    expect(mem.objects.has(lease.key)).toBe(false);
  });

  it('lapses when no renewal reaches the store for as long as a lease holds', async () => {
    vi.useFakeTimers();
    let t = Date.parse('2026-11-22T12:00:00Z');
    const mem = memoryRepo();
    const lease = await takeLease(mem.repo, 'backups/app/x/', { now: () => new Date(t), log: silentLogger('backup'), renewMs: 60_000, ttlMs: 600_000 });
    mem.failing(true);
    for (let i = 0; i < 10; i++) {
      t += 60_000;
      await vi.advanceTimersByTimeAsync(60_000);
    }
    expect(() => lease.assertHeld()).not.toThrow();
    t += 1;
    expect(() => lease.assertHeld()).toThrow(/lease backups\/app\/x\/lease\.json lapsed at 2026-11-22T12:10:00\.000Z/);
    await lease.stop();
  });
});
