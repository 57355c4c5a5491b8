import { describe, expect, it } from 'vitest';
import type { TableStat } from '../../../../lib/tasks/analyze/catalog.ts';
import { analyzeThreshold, planAnalyze, staleReason } from '../../../../lib/tasks/analyze/plan.ts';

const defaults = { threshold: 50, scaleFactor: 0.1 };
const day = (d: number) => new Date(Date.UTC(2026, 10, d));
let nextOid = 1;
const t = (name: string, over: Partial<TableStat> = {}): TableStat => ({
  oid: nextOid++, schema: 'public', name, kind: 'r', reltuples: 1000, changes: 0, lastAnalyze: null, lastAutoanalyze: day(1),
  hasStats: true, threshold: null, scaleFactor: null, ancestors: [], mayAnalyze: true, sizeBytes: 8192, ...over,
});

describe('the autovacuum analyze threshold', () => {
  it('is threshold + scale factor × rows, with per-table reloptions taking precedence', () => {
    expect(analyzeThreshold(t('a'), defaults)).toBe(150);
    expect(analyzeThreshold(t('b', { threshold: 5, scaleFactor: 0 }), defaults)).toBe(5);
    expect(analyzeThreshold(t('c', { scaleFactor: 0.5 }), defaults)).toBe(550);
    expect(analyzeThreshold(t('d', { reltuples: -1 }), defaults)).toBe(50);
  });

  it('is passed only when the changes exceed it, as in autovacuum', () => {
    expect(staleReason(t('a', { changes: 150 }), defaults)).toBeUndefined();
    expect(staleReason(t('a', { changes: 151 }), defaults)).toBe('151 rows changed since the last analyze > threshold 150 (50 + 0.1 × 1000 rows)');
    expect(staleReason(t('b', { changes: 6, threshold: 5, scaleFactor: 0 }), defaults)).toBe('6 rows changed since the last analyze > threshold 5 (5 + 0 × 1000 rows, reloptions)');
  });

  it('calls a table never analyzed only when it has neither an analyze time nor statistics', () => {
    expect(staleReason(t('new', { lastAutoanalyze: null, hasStats: false }), defaults)).toBe('never analyzed');
    // statistics survive pg_stat_reset and crash recovery; the times do not
    expect(staleReason(t('after_reset', { lastAutoanalyze: null, hasStats: true }), defaults)).toBeUndefined();
  });
});

describe('the analyze plan', () => {
  it('takes the stale tables and the partitioned parent, whose ANALYZE covers its partitions', () => {
    const parent = t('events', { kind: 'p', lastAutoanalyze: null, hasStats: false, reltuples: -1 });
    const p1 = t('events_p1', { ancestors: [parent.oid], changes: 500 });
    const p2 = t('events_p2', { ancestors: [parent.oid] });
    const fresh = t('fresh', { changes: 10 });
    const stale = t('stale', { changes: 400 });
    const items = planAnalyze([parent, p1, p2, fresh, stale], defaults);
    expect(items.map((i) => [i.table.name, i.covers.map((c) => c.name)])).toEqual([['events', ['events_p1']], ['stale', []]]);
    expect(items[0].reasons).toEqual(['never analyzed (autovacuum never analyzes partitioned tables)', '1 partition(s) due: events_p1']);
  });

  it('takes an analyzed parent again when a partition was auto-analyzed since, and leaves it alone otherwise', () => {
    const parent = t('events', { kind: 'p', lastAnalyze: day(5), lastAutoanalyze: null });
    const moved = t('events_p1', { ancestors: [parent.oid], lastAutoanalyze: day(6) });
    const quiet = t('events_p2', { ancestors: [parent.oid], lastAutoanalyze: day(4) });
    expect(planAnalyze([parent, moved, quiet], defaults).map((i) => [i.table.name, i.reasons])).toEqual([
      ['events', ["1 partition(s) auto-analyzed after the parent's last analyze: events_p1"]],
    ]);
    expect(planAnalyze([parent, { ...moved, lastAutoanalyze: day(3) }, quiet], defaults)).toEqual([]);
  });

  it('analyzes a sub-partitioned tree once, from its top', () => {
    const top = t('m', { kind: 'p', lastAnalyze: day(5), lastAutoanalyze: null });
    const mid = t('m_2026', { kind: 'p', lastAnalyze: day(5), lastAutoanalyze: null, ancestors: [top.oid] });
    const leaf = t('m_2026_11', { ancestors: [mid.oid, top.oid], changes: 1000 });
    const items = planAnalyze([top, mid, leaf], defaults);
    expect(items.map((i) => [i.table.name, i.covers.map((c) => c.name).sort()])).toEqual([['m', ['m_2026', 'm_2026_11']]]);
  });

  it('skips a table the role may not analyze (ANALYZE would only warn), so the run ends with exit 1', () => {
    const [item] = planAnalyze([t('theirs', { changes: 1000, mayAnalyze: false })], defaults);
    expect(item).toMatchObject({ status: 'skipped', note: expect.stringContaining('does not own it') });
  });
});
