import { describe, expect, it } from 'vitest';
import { backupIdTime } from '../../../../lib/repo/layout.ts';
import type { Repo } from '../../../../lib/repo/repo.ts';
import type { StoredVersion, VersionLock } from '../../../../lib/repo/s3-object-lock.ts';
import { PruneLocks } from '../../../../lib/tasks/prune/locks.ts';
import { holdTime, keepLocked, nextDeletable, planRetention, setKey, type RetentionRules } from '../../../../lib/tasks/prune/plan.ts';
import type { Prunable } from '../../../../lib/tasks/prune/prunable.ts';
import { keepLockedWal, type StoredWalFile, type WalExpiry } from '../../../../lib/tasks/prune/wal-expiry.ts';
import { formatPlan, formatWal } from '../../../../lib/tasks/prune/report.ts';

const NOW = new Date('2026-11-22T12:00:00Z');
const RULES: RetentionRules = { keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, incompleteGrace: 86_400_000 };

function set(id: string): Prunable {
  return { database: 'app', id, time: backupIdTime(id)!, complete: true, status: 'complete', size: 100, objects: [] };
}

describe('the plan with locked sets', () => {
  const sets = [set('20261122T031700Z'), set('20261121T031700Z'), set('20261120T031700Z')];

  it('keeps a set the rules would delete while it is locked, saying until when and what the rules said', () => {
    const decisions = keepLocked(planRetention(sets, RULES, NOW), new Map([[setKey(sets[1]), { until: '2026-12-21T03:17:04.120Z' }]]));
    expect(decisions.map((d) => [d.set.id, d.action, d.reasons])).toEqual([
      ['20261122T031700Z', 'keep', ['last 1/1', 'newest complete']],
      ['20261121T031700Z', 'keep', ['locked until 2026-12-21T03:17:05Z (no rule keeps it)']],
      ['20261120T031700Z', 'delete', ['no rule keeps it']],
    ]);
    expect(decisions[1].lock).toEqual({ until: '2026-12-21T03:17:04.120Z' });
    expect(formatPlan(decisions)).toContain('20261121T031700Z  keep    100 B  locked until 2026-12-21T03:17:05Z (no rule keeps it)');
  });

  it('leaves a set the rules keep as it is, locked or not', () => {
    const decisions = keepLocked(planRetention(sets, RULES, NOW), new Map([[setKey(sets[0]), { until: '2026-12-22T03:17:00Z' }]]));
    expect(decisions[0]).toEqual({ set: sets[0], action: 'keep', reasons: ['last 1/1', 'newest complete'] });
  });

  it('shows a legal hold, which has no end', () => {
    const [, held] = keepLocked(planRetention(sets, RULES, NOW), new Map([[setKey(sets[1]), { legalHold: true }]]));
    expect(held.reasons).toEqual(['under a legal hold (no rule keeps it)']);
  });

  it('names the earliest end of all holds as the next deletable moment, rounded up to the second', () => {
    expect(nextDeletable([{ until: '2026-12-21T03:17:04.120Z' }, undefined, { legalHold: true }, { until: '2026-12-20T01:00:00Z' }])).toBe('2026-12-20T01:00:00Z');
    expect(nextDeletable([{ legalHold: true }])).toBeUndefined();
    expect(holdTime('2026-12-21T03:17:04.001Z')).toBe('2026-12-21T03:17:05Z');
    expect(holdTime('2026-12-21T03:17:04.000Z')).toBe('2026-12-21T03:17:04Z');
  });
});

describe('WAL expiry with locked files', () => {
  const file = (n: number): StoredWalFile => ({ name: `00000001000000000000000${n}`, kind: 'segment', timeline: 1, keys: [`wal/1/00000001000000000000000${n}.json`, `wal/1/00000001000000000000000${n}`], bytes: 10 });
  const plan: WalExpiry = { systemIdentifier: '1', cutoff: { segment: '000000010000000000000006', backupId: '20261120T031700Z' }, doomed: [1, 2, 3, 4, 5].map(file), kept: { files: 3, bytes: 30 } };

  it('keeps the locked files, counted as kept and as locked, and deletes the rest', () => {
    const held = keepLockedWal(plan, new Map([[file(4).name, { until: '2026-12-01T00:00:00Z' }], [file(5).name, { until: '2026-12-02T00:00:00Z' }]]));
    expect(held.doomed.map((f) => f.name)).toEqual([1, 2, 3].map((n) => file(n).name));
    expect(held.kept).toEqual({ files: 5, bytes: 50 });
    expect(held.locked).toEqual({ files: 2, bytes: 20, next: '2026-12-01T00:00:00Z' });
    expect(formatWal(held)).toContain('; 2 file(s) below it (20 B) kept under object lock, the first deletable at 2026-12-01T00:00:00Z');
  });

  it('is the plan as it was when nothing is locked', () => {
    expect(keepLockedWal(plan, new Map())).toBe(plan);
  });
});

// A store of versions whose locks are given, counting the requests prune makes of it.
function fakeStore(versions: StoredVersion[], locks: Map<string, VersionLock>) {
  const calls = { list: 0, head: 0, headed: [] as string[] };
  const store = {
    async versions(prefix: string) {
      calls.list++;
      return versions.filter((v) => v.key.startsWith(prefix));
    },
    async lockOf(v: StoredVersion) {
      calls.head++;
      calls.headed.push(`${v.key}@${v.versionId}`);
      return locks.get(v.versionId) ?? { legalHold: false };
    },
  };
  const repo = { kind: 's3', url: 's3://b/p', objectLock: { mode: 'GOVERNANCE', duration: '30d', seconds: 2_592_000 }, locks: store } as unknown as Repo;
  return { repo, calls };
}

const version = (key: string, versionId: string, modified: string, deleteMarker = false): StoredVersion => ({ key, versionId, size: 1, modified: new Date(modified), deleteMarker });
const retained = (until: string): VersionLock => ({ until: new Date(until), legalHold: false });
const expired = retained('2026-11-01T00:00:00Z');

describe('PruneLocks', () => {
  it('is for repositories under object lock only', () => {
    expect(PruneLocks.of({ kind: 'file', url: 'file:///x' } as Repo, NOW)).toBeUndefined();
    expect(PruneLocks.of({ kind: 's3', url: 's3://b/p' } as Repo, NOW)).toBeUndefined();
  });

  it('asks one listing and one lookup of a set whose latest-written version is locked', async () => {
    const folder = 'backups/app/20261121T031700Z/';
    const { repo, calls } = fakeStore(
      [version(`${folder}dump`, 'd', '2026-11-21T03:17:10Z'), version(`${folder}globals.sql`, 'g', '2026-11-21T03:17:01Z'), version(`${folder}manifest.json`, 'm', '2026-11-21T03:17:11Z')],
      new Map([['m', retained('2026-12-21T03:17:11Z')], ['d', retained('2026-12-21T03:17:10Z')]]),
    );
    const locks = PruneLocks.of(repo, NOW)!;
    const decisions = planRetention([set('20261122T031700Z'), set('20261121T031700Z')], RULES, NOW);
    const found = await locks.holdsOfSets(decisions);
    expect([...found.values()]).toEqual([{ until: '2026-12-21T03:17:11.000Z' }]);
    expect(calls).toEqual({ list: 1, head: 1, headed: [`${folder}manifest.json@m`] });
  });

  it('looks at every version of a set whose latest is out of retention: any of them may still hold', async () => {
    const folder = 'backups/app/20261121T031700Z/';
    const { repo, calls } = fakeStore(
      [
        version(`${folder}manifest.json`, 'm', '2026-10-21T03:17:11Z'),
        version(`${folder}dump`, 'd', '2026-10-21T03:17:10Z'),
        // a lease version under the bucket's longer default retention, and a delete marker, which holds nothing
        version(`${folder}lease.json`, 'l', '2026-10-21T03:17:00Z'),
        version(`${folder}lease.json`, 'x', '2026-10-21T03:17:12Z', true),
      ],
      new Map([['m', expired], ['d', expired], ['l', retained('2027-01-19T03:17:00Z')]]),
    );
    const found = await PruneLocks.of(repo, NOW)!.holdsOfSets(planRetention([set('20261122T031700Z'), set('20261121T031700Z')], RULES, NOW));
    expect([...found.values()]).toEqual([{ until: '2027-01-19T03:17:00.000Z' }]);
    expect(calls.head).toBe(3);
  });

  it('finds the first retained WAL file in write order by bisection, and checks every version of those before it', async () => {
    const names = Array.from({ length: 16 }, (_, i) => `0000000100000000000000${(i + 1).toString(16).toUpperCase().padStart(2, '0')}`);
    const versions = names.flatMap((n, i) => {
      const at = new Date(Date.parse('2026-10-01T00:00:00Z') + i * 3_600_000);
      return [version(`wal/1/${n}`, `${n}-d`, at.toISOString()), version(`wal/1/${n}.json`, `${n}-s`, new Date(at.getTime() + 1000).toISOString())];
    });
    // files 1..10 are out of retention, 11..16 retained (written later); file 3's data object is under a legal hold
    const locks = new Map<string, VersionLock>();
    names.forEach((n, i) => {
      const lock = i < 10 ? expired : retained(`2026-12-${String(i + 1).padStart(2, '0')}T00:00:00Z`);
      locks.set(`${n}-d`, lock);
      locks.set(`${n}-s`, lock);
    });
    locks.set(`${names[2]}-d`, { legalHold: true });
    const { repo, calls } = fakeStore(versions, locks);
    const plan: WalExpiry = {
      systemIdentifier: '1',
      cutoff: { segment: '000000010000000000000011', backupId: 'x' },
      doomed: names.map((n) => ({ name: n, kind: 'segment', timeline: 1, keys: [`wal/1/${n}.json`, `wal/1/${n}`], bytes: 2 })),
      kept: { files: 0, bytes: 0 },
    };
    const found = await PruneLocks.of(repo, NOW)!.holdsOfWal(plan);
    expect([...found.keys()].sort()).toEqual([names[2], ...names.slice(10)].sort());
    expect(found.get(names[2])).toEqual({ legalHold: true });
    // the files after the boundary are held from the boundary's retention on
    expect(found.get(names[15])).toEqual({ until: '2026-12-11T00:00:00.000Z' });
    expect(calls.list).toBe(1);
    // log2(16) + 1 lookups to bisect, then both versions of each of the 10 files before the boundary, each once
    expect(new Set(calls.headed).size).toBe(calls.head);
    expect(calls.head).toBeLessThanOrEqual(5 + 20);
    expect(keepLockedWal(plan, found).locked).toEqual({ files: 7, bytes: 14, next: '2026-12-11T00:00:00Z' });
  });
});
