import { describe, expect, it } from 'vitest';
import { bloatFromPgstatindex, bloatFromStats, estimatedPages } from '../../../../lib/tasks/reindex/bloat.ts';
import { LEFTOVER_SUFFIX } from '../../../../lib/tasks/reindex/catalog.ts';

// Figures taken from pgstatindex on PostgreSQL 15: an index on md5 text over 100 000 rows, before and after
// deleting nine rows in ten and a VACUUM (the rebuilt index then had 74 pages).
const fresh = { indexSize: 5_931_008, internalPages: 8, leafPages: 715, emptyPages: 0, deletedPages: 0, avgLeafDensity: 89.9 };
const afterDelete = { ...fresh, avgLeafDensity: 9.61 };

describe('bloat from pgstatindex', () => {
  it('sees no bloat in a freshly built index packed at its fillfactor', () => {
    expect(bloatFromPgstatindex(fresh, 90).percent).toBeLessThan(2);
  });

  it('sees nine tenths of an index emptied by a mass delete as bloat, close to what a rebuild gives back', () => {
    const b = bloatFromPgstatindex(afterDelete, 90);
    expect(b.source).toBe('pgstatindex');
    expect(b.percent).toBeGreaterThan(85);
    const rebuiltBytes = 74 * 8192;
    expect(Math.abs(fresh.indexSize - b.reclaimBytes - rebuiltBytes)).toBeLessThan(20 * 8192);
  });

  it('counts deleted and empty pages as waste and a lower fillfactor as room that is meant to be there', () => {
    const withDeleted = bloatFromPgstatindex({ ...fresh, indexSize: fresh.indexSize * 2, deletedPages: 724 }, 90);
    expect(withDeleted.percent).toBeGreaterThan(49);
    expect(bloatFromPgstatindex({ ...fresh, avgLeafDensity: 70 }, 70).percent).toBeLessThan(2);
  });

  it('handles an index with no leaf pages', () => {
    expect(bloatFromPgstatindex({ indexSize: 8192, internalPages: 0, leafPages: 0, emptyPages: 0, deletedPages: 0, avgLeafDensity: NaN }, 90).percent).toBe(0);
  });
});

describe('the statistical estimate', () => {
  const stats = { tuples: 10_000, fillfactor: 90, dataWidth: 33, hasNulls: false, columns: 1, columnsWithStats: 1, size: 5_931_008 };

  it('estimates the pages a fresh build needs from rows and the average key width', () => {
    // 8 + 40 bytes per tuple plus a 4-byte line pointer, 141 per page at fillfactor 90, plus the meta page; the real rebuild had 74
    expect(estimatedPages(stats)).toBe(72);
    expect(bloatFromStats(stats)!.percent).toBeGreaterThan(85);
  });

  it('makes room for the null bitmap and honours the fillfactor', () => {
    expect(estimatedPages({ ...stats, hasNulls: true })).toBe(1 + Math.ceil(10_000 / Math.floor((8152 * 0.9) / 60)));
    expect(estimatedPages({ ...stats, fillfactor: 50 })!).toBeGreaterThan(estimatedPages(stats)! * 1.7);
  });

  it('gives no estimate without statistics for every column, or without a row count', () => {
    expect(bloatFromStats({ ...stats, columns: 2, columnsWithStats: 1 })).toBeUndefined();
    expect(bloatFromStats({ ...stats, tuples: -1 })).toBeUndefined();
  });

  it('never reports negative bloat for an index smaller than the estimate (deduplication)', () => {
    expect(bloatFromStats({ ...stats, size: 8192 * 10 })!.percent).toBe(0);
  });
});

describe('leftover names', () => {
  it('match the transient names of REINDEX CONCURRENTLY and nothing else', () => {
    for (const n of ['orders_pkey_ccnew', 'orders_pkey_ccnew1', 'orders_pkey_ccnew12', 'x_ccold', 'x_ccold3']) expect(n).toMatch(LEFTOVER_SUFFIX);
    for (const n of ['orders_ccnewer', 'ccnew', 'orders_pkey', 'x_ccold_y', 'x_cc']) expect(n).not.toMatch(LEFTOVER_SUFFIX);
  });
});
