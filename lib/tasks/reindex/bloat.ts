// Bloat of a B-tree index: the share of its pages a fresh build would not need. Two sources:
//   pgstatindex (pgstattuple): reads every page of the index and reports how full the leaf pages are;
//   a statistical estimate: rows × the average key width from pg_stats, packed at the index's fillfactor.

export type BloatSource = 'pgstatindex' | 'estimate';

export interface Bloat {
  source: BloatSource;
  /** 0..100 */
  percent: number;
  /** bytes a rebuild would give back, about */
  reclaimBytes: number;
}

// What pgstatindex() returns, as numbers.
export interface PgstatindexRow {
  indexSize: number;
  internalPages: number;
  leafPages: number;
  emptyPages: number;
  deletedPages: number;
  /** percent of the leaf pages' usable space holding tuples (NaN when there are no leaf pages) */
  avgLeafDensity: number;
}

// From pgstatindex: a rebuild packs the live leaf tuples at `fillfactor`; internal pages and the meta page stay.
// Empty and deleted pages are all waste.
export function bloatFromPgstatindex(s: PgstatindexRow, fillfactor: number, blockSize = 8192): Bloat {
  const pages = Math.max(1, s.indexSize / blockSize);
  const density = Number.isFinite(s.avgLeafDensity) ? s.avgLeafDensity : 0;
  const neededLeaf = Math.ceil((s.leafPages * density) / Math.max(10, fillfactor));
  const needed = Math.min(pages, Math.max(1, neededLeaf) + s.internalPages + 1);
  return result('pgstatindex', pages, needed, blockSize);
}

// What the statistical estimate needs about one index.
export interface IndexStats {
  /** rows in the index (pg_class.reltuples; negative: never counted) */
  tuples: number;
  fillfactor: number;
  /** sum over the index's columns of (1 - null_frac) × avg_width from pg_stats */
  dataWidth: number;
  /** some column has nulls: each tuple carries a null bitmap */
  hasNulls: boolean;
  /** columns of the index, and how many of them pg_stats knows */
  columns: number;
  columnsWithStats: number;
  /** bytes (pg_relation_size) */
  size: number;
}

const MAXALIGN = 8;
const PAGE_HEADER = 24;
const BTREE_OPAQUE = 16;
const ITEM_ID = 4;
const INDEX_TUPLE_HEADER = 8;
const NULL_BITMAP = 4;
const alignUp = (n: number) => Math.ceil(n / MAXALIGN) * MAXALIGN;

// Pages a fresh B-tree build needs for `s`: one tuple per row (header and data each MAXALIGNed, plus a line
// pointer), leaf pages filled to the fillfactor, plus the meta page. Internal pages are left out, which errs
// towards less bloat; so does deduplication (PostgreSQL 13+), which makes indexes with many repeats smaller.
// undefined when the statistics do not cover the index (the table was never analyzed).
export function estimatedPages(s: IndexStats, blockSize = 8192): number | undefined {
  if (s.tuples < 0 || s.columnsWithStats < s.columns || s.columns === 0) return undefined;
  const tuple = alignUp(INDEX_TUPLE_HEADER + (s.hasNulls ? NULL_BITMAP : 0)) + alignUp(s.dataWidth) + ITEM_ID;
  const perPage = Math.max(1, Math.floor(((blockSize - PAGE_HEADER - BTREE_OPAQUE) * s.fillfactor) / 100 / tuple));
  return 1 + Math.ceil(s.tuples / perPage);
}

// The statistical estimate of an index's bloat; undefined when it cannot be made.
export function bloatFromStats(s: IndexStats, blockSize = 8192): Bloat | undefined {
  const needed = estimatedPages(s, blockSize);
  if (needed === undefined) return undefined;
  return result('estimate', Math.max(1, s.size / blockSize), needed, blockSize);
}

function result(source: BloatSource, pages: number, needed: number, blockSize: number): Bloat {
  const waste = Math.max(0, pages - needed);
  return { source, percent: Math.round((1000 * waste) / pages) / 10, reclaimBytes: Math.round(waste * blockSize) };
}
