import { describe, expect, it } from 'vitest';
import { backupIdTime } from '../../../lib/repo/layout.ts';
import { judgeLease, parseLease, type BackupLease, type LeaseView } from '../../../lib/repo/lease.ts';
import { planRetention, setKey, type RetentionSet } from '../../../lib/tasks/prune/plan.ts';

const NOW = new Date('2026-11-22T12:00:00Z');
const lease = (over: Partial<BackupLease> = {}): BackupLease => ({
  format: 'pgops-backup-lease',
  host: 'db-backup-1',
  pid: 4242,
  bootId: 'boot-a',
  pidStart: '381563',
  startedAt: '2026-11-22T11:00:00.000Z',
  renewedAt: '2026-11-22T11:59:00.000Z',
  expiresAt: '2026-11-22T12:09:00.000Z',
  ...over,
});
const here = (over: Partial<LeaseView> = {}): LeaseView => ({ host: 'db-backup-1', bootId: 'boot-a', now: NOW, process: { startTime: '381563' }, ...over });

describe('judgeLease', () => {
  it('holds a lease of this host whose pid runs with the start time it recorded, even past its expiry', () => {
    expect(judgeLease(lease({ expiresAt: '2026-11-21T00:00:00.000Z' }), here())).toEqual({
      held: true,
      reason: 'a backup is writing it: pid 4242 on db-backup-1, lease renewed at 2026-11-22T11:59:00.000Z',
    });
  });

  it('ignores a lease of this host whose pid is gone, even before its expiry', () => {
    expect(judgeLease(lease(), here({ process: undefined }))).toEqual({ held: false, reason: 'its writer (pid 4242 on db-backup-1) is gone' });
  });

  it('ignores a lease whose pid now belongs to another process', () => {
    const v = judgeLease(lease(), here({ process: { startTime: '999999' } }));
    expect(v.held).toBe(false);
    expect(v.reason).toContain('the pid now belongs to another process');
  });

  it('ignores a lease of this host written before it restarted', () => {
    const v = judgeLease(lease(), here({ bootId: 'boot-b' }));
    expect(v).toEqual({ held: false, reason: 'its writer (pid 4242 on db-backup-1) ran before the host restarted' });
  });

  it('holds by the pid alone where the kernel tells no start time or boot id', () => {
    expect(judgeLease(lease({ pidStart: undefined, bootId: undefined }), here({ process: {} })).held).toBe(true);
    expect(judgeLease(lease(), here({ process: {}, bootId: undefined })).held).toBe(true);
  });

  it("holds another host's lease until it expires, then not", () => {
    const other = lease({ host: 'db-backup-2' });
    expect(judgeLease(other, here({ process: undefined }))).toEqual({
      held: true,
      reason: 'a backup is writing it: pid 4242 on db-backup-2, lease renewed at 2026-11-22T11:59:00.000Z, expires at 2026-11-22T12:09:00.000Z',
    });
    expect(judgeLease(other, here({ now: new Date('2026-11-22T12:09:00Z'), process: undefined }))).toEqual({
      held: false,
      reason: 'the lease of its writer (pid 4242 on db-backup-2) expired at 2026-11-22T12:09:00.000Z',
    });
  });
});

describe('parseLease', () => {
  it('reads what a backup writes', () => {
    expect(parseLease(JSON.stringify(lease()))).toEqual(lease());
  });

  it('refuses what is not a lease: bad JSON, another format, a missing pid or time', () => {
    expect(parseLease('{ torn')).toBeUndefined();
    expect(parseLease(JSON.stringify({ ...lease(), format: 'other' }))).toBeUndefined();
    expect(parseLease(JSON.stringify({ ...lease(), pid: 0 }))).toBeUndefined();
    expect(parseLease(JSON.stringify({ ...lease(), pid: '12' }))).toBeUndefined();
    expect(parseLease(JSON.stringify({ ...lease(), expiresAt: 'soon' }))).toBeUndefined();
  });
});

describe('planRetention with live writers', () => {
  const set = (id: string, complete: boolean): RetentionSet => ({ database: 'app', id, time: backupIdTime(id)!, complete, status: complete ? 'complete' : 'incomplete', size: 1 });
  const base = { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, incompleteGrace: 1000 };

  it('keeps an incomplete set a backup is writing whatever the grace, with the writer as the reason', () => {
    const writing = set('20261120T031700Z', false);
    const crashed = set('20261120T041700Z', false);
    const sets = [set('20261122T031700Z', true), writing, crashed];
    const writers = new Map([[setKey(writing), 'a backup is writing it: pid 7 on h, lease renewed at T']]);
    const plan = planRetention(sets, { ...base, writers }, NOW);
    expect(plan.map((d) => [d.set.id, d.action, d.reasons])).toEqual([
      ['20261122T031700Z', 'keep', ['last 1/1', 'newest complete']],
      ['20261120T031700Z', 'keep', ['a backup is writing it: pid 7 on h, lease renewed at T']],
      ['20261120T041700Z', 'delete', ['incomplete, older than grace 1s']],
    ]);
  });
});
