import { describe, expect, it } from 'vitest';
import { backupIdFor, backupIdTime } from '../../../../lib/repo/layout.ts';
import { planRetention, setKey, type RetentionRules, type RetentionSet } from '../../../../lib/tasks/prune/plan.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const GRACE = 24 * HOUR;

function set(id: string, opts: { complete?: boolean; database?: string } = {}): RetentionSet {
  const complete = opts.complete ?? true;
  return { database: opts.database ?? 'app', id, time: backupIdTime(id)!, complete, status: complete ? 'complete' : 'incomplete', size: 100 };
}

function rules(r: Partial<RetentionRules>): RetentionRules {
  return { keepDaily: 0, keepWeekly: 0, keepMonthly: 0, incompleteGrace: GRACE, ...r };
}

function kept(sets: RetentionSet[], r: RetentionRules, now: Date): string[] {
  return planRetention(sets, r, now)
    .filter((d) => d.action === 'keep')
    .map((d) => `${d.set.database === 'app' ? '' : d.set.database + '/'}${d.set.id}`)
    .sort();
}

// Sunday 2026-11-22 (ISO week 2026-W47), noon UTC.
const NOW = new Date('2026-11-22T12:00:00Z');

// 400 daily backups at 03:17 UTC, 2025-10-19 .. 2026-11-22, plus second backups on some days and incomplete sets.
function history(): RetentionSet[] {
  const sets: RetentionSet[] = [];
  const last = Date.UTC(2026, 10, 22, 3, 17);
  for (let i = 0; i < 400; i++) sets.push(set(backupIdFor(new Date(last - i * DAY))));
  for (const id of ['20261120T210000Z', '20261115T183000Z', '20261031T220000Z', '20260615T120000Z']) sets.push(set(id));
  for (const id of ['20261122T100000Z', '20261121T130000Z', '20261121T113000Z', '20261115T230000Z', '20260930T235900Z']) {
    sets.push(set(id, { complete: false }));
  }
  return sets;
}

const GFS = rules({ keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 });

describe('planRetention: keep-last 3, keep-daily 7, keep-weekly 4, keep-monthly 12 over 400 days', () => {
  // Worked out by hand from a calendar for NOW.
  const expected = [
    // keep-last 3: the three newest complete sets (the evening backup of 11-20 is newer than its morning one)
    '20261122T031700Z',
    '20261121T031700Z',
    '20261120T210000Z',
    // keep-daily 7: 11-22 .. 11-16, the newest of each day
    '20261119T031700Z',
    '20261118T031700Z',
    '20261117T031700Z',
    '20261116T031700Z',
    // keep-weekly 4: W47 (11-22, above), W46 (Sun 11-15 evening; the later incomplete set does not count), W45 (Sun 11-08), W44 (Sun 11-01)
    '20261115T183000Z',
    '20261108T031700Z',
    '20261101T031700Z',
    // keep-monthly 12: 2026-11 (above), the last day of each month back to 2025-12 (October's evening backup)
    '20261031T220000Z',
    '20260930T031700Z',
    '20260831T031700Z',
    '20260731T031700Z',
    '20260630T031700Z',
    '20260531T031700Z',
    '20260430T031700Z',
    '20260331T031700Z',
    '20260228T031700Z',
    '20260131T031700Z',
    '20251231T031700Z',
    // incomplete sets younger than the 24h grace (2h and 23h old)
    '20261122T100000Z',
    '20261121T130000Z',
  ].sort();

  it('keeps exactly the sets the rules name and deletes all the others', () => {
    const sets = history();
    expect(sets).toHaveLength(409);
    const plan = planRetention(sets, GFS, NOW);
    expect(plan).toHaveLength(409);
    expect(kept(sets, GFS, NOW)).toEqual(expected);
    const deleted = plan.filter((d) => d.action === 'delete').map((d) => d.set.id);
    expect(deleted).toHaveLength(409 - expected.length);
    expect(new Set([...deleted, ...expected]).size).toBe(409);
  });

  it('agrees with a brute-force reading of the rules', () => {
    const sets = history();
    expect(kept(sets, GFS, NOW)).toEqual(bruteForce(sets, GFS, NOW));
  });

  it('lists every rule that keeps a set', () => {
    const plan = planRetention(history(), GFS, NOW);
    const reasons = (id: string) => plan.find((d) => d.set.id === id)!.reasons;
    expect(reasons('20261122T031700Z')).toEqual(['last 1/3', 'daily 2026-11-22', 'weekly 2026-W47', 'monthly 2026-11', 'newest complete']);
    expect(reasons('20261120T210000Z')).toEqual(['last 3/3', 'daily 2026-11-20']);
    expect(reasons('20261115T183000Z')).toEqual(['weekly 2026-W46']);
    expect(reasons('20261031T220000Z')).toEqual(['monthly 2026-10']);
    expect(reasons('20261122T100000Z')).toEqual(['incomplete, younger than grace 24h']);
    expect(reasons('20261121T113000Z')).toEqual(['incomplete, older than grace 24h']);
    expect(reasons('20261120T031700Z')).toEqual(['no rule keeps it']);
    expect(plan.find((d) => d.set.id === '20261120T031700Z')!.action).toBe('delete');
  });
});

describe('planRetention: the newest complete set', () => {
  const sets = [set('20261120T031700Z'), set('20261121T031700Z'), set('20261122T031700Z'), set('20261122T090000Z', { complete: false })];

  it('is kept when every rule is zero, and nothing else complete is', () => {
    const plan = planRetention(sets, rules({}), new Date('2026-11-23T12:00:00Z'));
    expect(plan.map((d) => [d.set.id, d.action, d.reasons])).toEqual([
      ['20261120T031700Z', 'delete', ['no rule keeps it']],
      ['20261121T031700Z', 'delete', ['no rule keeps it']],
      ['20261122T031700Z', 'keep', ['newest complete']],
      // older than the grace, though newer than every complete set
      ['20261122T090000Z', 'delete', ['incomplete, older than grace 24h']],
    ]);
  });

  it('is kept with keep-last 1 alone, and the rules count complete sets only', () => {
    expect(kept(sets, rules({ keepLast: 1 }), new Date('2026-11-23T12:00:00Z'))).toEqual(['20261122T031700Z']);
  });
});

describe('planRetention: rules', () => {
  it('counts only days that have a complete set, as restic does', () => {
    const sets = [set('20261101T031700Z'), set('20261105T031700Z'), set('20261109T031700Z'), set('20261110T031700Z', { complete: false })];
    expect(kept(sets, rules({ keepDaily: 2, incompleteGrace: 0 }), new Date('2026-11-22T00:00:00Z'))).toEqual(['20261105T031700Z', '20261109T031700Z']);
  });

  it('keeps incomplete sets younger than the grace and deletes older ones', () => {
    const now = new Date('2026-11-22T12:00:00Z');
    const sets = [set('20261122T031700Z'), set('20261122T110000Z', { complete: false }), set('20261122T105959Z', { complete: false })];
    const plan = planRetention(sets, rules({ keepLast: 1, incompleteGrace: HOUR }), now);
    expect(plan.map((d) => [d.set.id, d.action, d.reasons])).toEqual([
      ['20261122T031700Z', 'keep', ['last 1/1', 'newest complete']],
      ['20261122T110000Z', 'keep', ['incomplete, younger than grace 1h']],
      ['20261122T105959Z', 'delete', ['incomplete, older than grace 1h']],
    ]);
  });

  it('keeps protected sets whatever the rules say', () => {
    const sets = [set('20261101T031700Z'), set('20261102T031700Z', { complete: false }), set('20261103T031700Z'), set('20261122T031700Z')];
    const other = { ...set('20261101T031700Z'), database: 'other' };
    const protect = new Map([[setKey(sets[0]), 'protected'], [setKey(sets[1]), 'protected']]);
    const plan = planRetention([...sets, other, { ...set('20261122T031700Z'), database: 'other' }], rules({ keepLast: 1, protect }), NOW);
    expect(plan.map((d) => [d.set.database, d.set.id, d.action, d.reasons])).toEqual([
      ['app', '20261101T031700Z', 'keep', ['protected']],
      ['app', '20261102T031700Z', 'keep', ['protected']],
      ['app', '20261103T031700Z', 'delete', ['no rule keeps it']],
      ['app', '20261122T031700Z', 'keep', ['last 1/1', 'newest complete']],
      // the same id in another database is not protected by it
      ['other', '20261101T031700Z', 'delete', ['no rule keeps it']],
      ['other', '20261122T031700Z', 'keep', ['last 1/1', 'newest complete']],
    ]);
  });

  it('keeps sets whose manifest cannot be read, and they count for no rule', () => {
    const broken: RetentionSet = { ...set('20261122T031700Z', { complete: false }), status: 'unreadable', problem: 'manifest is not valid JSON' };
    const sets = [set('20261120T031700Z'), set('20261121T031700Z'), broken];
    const plan = planRetention(sets, rules({ keepLast: 1 }), NOW);
    expect(plan.map((d) => [d.set.id, d.action])).toEqual([
      ['20261120T031700Z', 'delete'],
      ['20261121T031700Z', 'keep'],
      ['20261122T031700Z', 'keep'],
    ]);
    expect(plan[2].reasons).toEqual(['manifest unreadable, kept for inspection: manifest is not valid JSON']);
  });

  it('keeps a damaged set for inspection, counts it for no rule, and keeps the newest restorable set instead', () => {
    const damaged: RetentionSet = { ...set('20261122T031700Z', { complete: false }), status: 'damaged', problem: 'dump is missing' };
    const sets = [set('20261120T031700Z'), set('20261121T031700Z'), damaged];
    // a grace shorter than its age: were it taken for an incomplete set, it would be deleted
    const plan = planRetention(sets, rules({ keepLast: 1, incompleteGrace: HOUR }), NOW);
    expect(plan.map((d) => [d.set.id, d.action, d.reasons])).toEqual([
      ['20261120T031700Z', 'delete', ['no rule keeps it']],
      ['20261121T031700Z', 'keep', ['last 1/1', 'newest complete']],
      ['20261122T031700Z', 'keep', ['damaged, kept for inspection: dump is missing']],
    ]);
  });

  it('applies the rules to each database on its own', () => {
    const sets = [
      set('20261122T031700Z'),
      set('20261121T031700Z'),
      set('20261120T031700Z', { database: 'billing' }),
      set('20261010T031700Z', { database: 'billing' }),
      set('20261009T031700Z', { database: 'billing' }),
      set('20261122T031700Z', { database: 'audit', complete: false }),
      set('20261120T031700Z', { database: 'audit', complete: false }),
    ];
    expect(kept(sets, rules({ keepLast: 1, keepMonthly: 2 }), NOW)).toEqual([
      '20261122T031700Z',
      'audit/20261122T031700Z',
      'billing/20261010T031700Z',
      'billing/20261120T031700Z',
    ]);
    const plan = planRetention(sets, rules({ keepLast: 1 }), NOW);
    const billing = plan.find((d) => d.set.database === 'billing' && d.set.id === '20261120T031700Z')!;
    expect(billing.reasons).toEqual(['last 1/1', 'newest complete']);
  });

  it('puts 2026-12-31 and 2027-01-01 in the same ISO week 2026-W53, and 2027-01-04 in 2027-W01', () => {
    const sets = ['20261227T031700Z', '20261228T031700Z', '20261231T031700Z', '20270101T031700Z', '20270103T031700Z', '20270104T031700Z'].map((id) => set(id));
    const now = new Date('2027-01-05T12:00:00Z');
    const plan = planRetention(sets, rules({ keepWeekly: 3 }), now);
    expect(plan.map((d) => [d.set.id, d.action, d.reasons])).toEqual([
      ['20261227T031700Z', 'keep', ['weekly 2026-W52']],
      ['20261228T031700Z', 'delete', ['no rule keeps it']],
      ['20261231T031700Z', 'delete', ['no rule keeps it']],
      ['20270101T031700Z', 'delete', ['no rule keeps it']],
      ['20270103T031700Z', 'keep', ['weekly 2026-W53']],
      ['20270104T031700Z', 'keep', ['weekly 2027-W01', 'newest complete']],
    ]);
    expect(kept(sets, rules({ keepMonthly: 2 }), now)).toEqual(['20261231T031700Z', '20270104T031700Z']);
  });
});

// The rules read literally: group complete sets by period, take the N newest periods, keep the newest set of each.
function bruteForce(sets: RetentionSet[], r: RetentionRules, now: Date): string[] {
  const out = new Set<RetentionSet>();
  const complete = sets.filter((s) => s.complete);
  const newestOf = (group: RetentionSet[]) => group.reduce((a, b) => (b.time > a.time ? b : a));
  const periods = (key: (t: Date) => string, n: number) => {
    const groups = new Map<string, RetentionSet[]>();
    for (const s of complete) groups.set(key(s.time), [...(groups.get(key(s.time)) ?? []), s]);
    const newestPeriods = [...groups.values()].sort((a, b) => newestOf(b).time.getTime() - newestOf(a).time.getTime()).slice(0, n);
    for (const g of newestPeriods) out.add(newestOf(g));
  };
  [...complete].sort((a, b) => b.time.getTime() - a.time.getTime()).slice(0, r.keepLast ?? 0).forEach((s) => out.add(s));
  periods((t) => t.toISOString().slice(0, 10), r.keepDaily);
  periods(isoWeekByMonday, r.keepWeekly);
  periods((t) => t.toISOString().slice(0, 7), r.keepMonthly);
  out.add(newestOf(complete));
  for (const s of sets) if (!s.complete && now.getTime() - s.time.getTime() <= r.incompleteGrace) out.add(s);
  return [...out].map((s) => s.id).sort();
}

// ISO week another way: count Mondays from the Monday of the week holding 4 January.
function isoWeekByMonday(t: Date): string {
  const mondayOf = (ms: number) => {
    const d = new Date(ms);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - ((d.getUTCDay() + 6) % 7) * DAY;
  };
  const monday = mondayOf(t.getTime());
  let year = t.getUTCFullYear() + 1;
  while (mondayOf(Date.UTC(year, 0, 4)) > monday) year--;
  const week = Math.round((monday - mondayOf(Date.UTC(year, 0, 4))) / (7 * DAY)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

describe('planRetention: pins', () => {
  const pinned = (id: string, pinnedUntil: string, label?: string): RetentionSet => ({ ...set(id), manifest: { pinnedUntil, ...(label ? { label } : {}) } });

  it('keeps a set while its pin holds, saying until when and its label, and the pinned set still counts for the rules', () => {
    const sets = [pinned('20261101T031700Z', '2026-12-01T03:17:00.000Z', 'pre-migration-42'), set('20261120T031700Z'), set('20261121T031700Z'), pinned('20261122T031700Z', '2026-11-29T00:00:00.000Z')];
    const plan = planRetention(sets, rules({ keepLast: 2 }), NOW);
    expect(plan.map((d) => [d.set.id, d.action, d.reasons])).toEqual([
      ['20261101T031700Z', 'keep', ['pinned until 2026-12-01T03:17:00Z (pre-migration-42)']],
      ['20261120T031700Z', 'delete', ['no rule keeps it']],
      // keep-last 2 counts the pinned newest set: the pin adds a reason, it takes no rule's place
      ['20261121T031700Z', 'keep', ['last 2/2']],
      ['20261122T031700Z', 'keep', ['last 1/2', 'newest complete', 'pinned until 2026-11-29T00:00:00Z']],
    ]);
  });

  it('lets an expired pin go, saying so', () => {
    const plan = planRetention([pinned('20261101T031700Z', '2026-11-22T11:59:59.000Z', 'old'), set('20261122T031700Z')], rules({ keepLast: 1 }), NOW);
    expect(plan[0]).toMatchObject({ action: 'delete', reasons: ['no rule keeps it; pin expired at 2026-11-22T11:59:59Z (old)'] });
  });

  it('keeps a set whose pin is no time: a writer meant to pin it', () => {
    const plan = planRetention([pinned('20261101T031700Z', 'next tuesday'), set('20261122T031700Z')], rules({ keepLast: 1 }), NOW);
    expect(plan[0]).toMatchObject({ action: 'keep', reasons: ['pinned until "next tuesday", which is no time: kept'] });
  });
});

describe('planRetention: base backups', () => {
  const base = (systemIdentifier: string, id: string, complete = true): RetentionSet => ({ systemIdentifier, id, time: backupIdTime(id)!, complete, status: complete ? 'complete' : 'incomplete', size: 10 });

  it('applies the rules per system, apart from databases that share an id or a name', () => {
    const sets = [base('7300', '20261121T031700Z'), base('7300', '20261122T031700Z'), base('7400', '20261120T031700Z'), set('20261121T031700Z', { database: '7300' })];
    const plan = planRetention(sets, rules({ keepLast: 1 }), NOW);
    expect(plan.map((d) => [d.set.systemIdentifier ?? `db ${d.set.database}`, d.set.id, d.action, d.reasons])).toEqual([
      ['7300', '20261121T031700Z', 'delete', ['no rule keeps it']],
      ['7300', '20261122T031700Z', 'keep', ['last 1/1', 'newest complete']],
      ['7400', '20261120T031700Z', 'keep', ['last 1/1', 'newest complete']],
      ['db 7300', '20261121T031700Z', 'keep', ['last 1/1', 'newest complete']],
    ]);
    expect(setKey(sets[0])).not.toBe(setKey(sets[3]));
  });

  it('keeps an incomplete base backup a running basebackup writes, and lets an old one go after the grace', () => {
    const writing = base('7300', '20261120T031700Z', false);
    const sets = [base('7300', '20261122T031700Z'), writing, base('7300', '20261120T041700Z', false)];
    const plan = planRetention(sets, rules({ keepLast: 1, writers: new Map([[setKey(writing), 'a backup is writing it']]) }), NOW);
    expect(plan.map((d) => [d.set.id, d.action, d.reasons])).toEqual([
      ['20261122T031700Z', 'keep', ['last 1/1', 'newest complete']],
      ['20261120T031700Z', 'keep', ['a backup is writing it']],
      ['20261120T041700Z', 'delete', ['incomplete, older than grace 24h']],
    ]);
  });
});
