import { usageError } from '../../errors.ts';
import { compareNames } from '../../pg/display-name.ts';
import type { ActionStatus } from '../../plan/outcome.ts';
import { formatSize } from '../../units.ts';
import type { Bloat } from './bloat.ts';
import type { IndexInfo } from './catalog.ts';

export type RebuildReason = 'named' | 'invalid' | 'bloat';

// An index to rebuild, and later what became of it.
export interface RebuildItem {
  index: IndexInfo;
  reason: RebuildReason;
  bloat?: Bloat;
  status: ActionStatus;
  /** why it is skipped, or what else happened */
  note?: string;
  sizeAfter?: number;
  attempts?: number;
  durationMs?: number;
  error?: string;
  /** transient indexes a failed attempt left and that could not be dropped */
  leftBehind?: string[];
}

// An invalid transient index of an earlier failed REINDEX CONCURRENTLY, to drop.
export interface LeftoverItem {
  index: IndexInfo;
  status: ActionStatus;
  note?: string;
  attempts?: number;
  error?: string;
}

export interface ReindexPlan {
  leftovers: LeftoverItem[];
  rebuild: RebuildItem[];
  /** B-tree indexes at or above --min-size whose bloat was looked at */
  checked: number;
  /** checked indexes whose bloat could not be measured or estimated, and why */
  unmeasured: { index: IndexInfo; why: string }[];
}

export interface PlanOptions {
  /** --index: exactly these, in this order */
  named?: readonly IndexInfo[];
  minSize: number;
  minBloat: number;
  maxIndexes: number;
}

const qname = (i: IndexInfo) => `${i.schema}.${i.name}`;

// Leftovers: invalid indexes named like a concurrent rebuild's transient index. One whose table has an index build
// running right now may be that build's own: it is left alone.
export function selectLeftovers(indexes: readonly IndexInfo[]): LeftoverItem[] {
  return indexes
    .filter((i) => i.kind === 'i' && !i.valid && i.live && i.leftoverName)
    .map((index) => (index.buildPid !== null
      ? { index, status: 'skipped' as const, note: `an index build is running on its table (pid ${index.buildPid}): it may be that build's own` }
      : { index, status: 'planned' as const }));
}

// The indexes whose bloat is worth measuring: valid B-tree indexes at or above --min-size, leftovers excepted.
export function bloatCandidates(indexes: readonly IndexInfo[], minSize: number): IndexInfo[] {
  return indexes.filter((i) => i.kind === 'i' && i.method === 'btree' && i.valid && i.live && !i.leftoverName && i.size >= minSize);
}

// Finds the indexes --index names; a name that matches nothing stops the run (exit 3) before anything changes.
export function resolveNamed(indexes: readonly IndexInfo[], names: readonly { schema: string; name: string }[], database: string): IndexInfo[] {
  return names.map((n) => {
    const found = indexes.find((i) => i.schema === n.schema && i.name === n.name);
    if (!found) {
      throw usageError(`index ${n.schema}.${n.name} does not exist in database "${database}"`, 'write --index SCHEMA.INDEX (public when no schema); names are case-sensitive, double-quote a name that holds a dot');
    }
    return found;
  });
}

// Why an index cannot be rebuilt with REINDEX INDEX CONCURRENTLY, if it cannot.
function cannotRebuild(i: IndexInfo): string | undefined {
  if (i.kind === 'I') return 'a partitioned index: name the indexes of its partitions';
  if (i.exclusion) return 'backs an exclusion constraint, which REINDEX CONCURRENTLY cannot rebuild';
  if (i.leftoverName && !i.valid) return 'a leftover of a failed concurrent rebuild: it is dropped, not rebuilt';
  if (!i.valid && i.buildPid !== null) return `an index build is running on its table (pid ${i.buildPid}): this may be the index it is building`;
  return undefined;
}

// The rebuild list: the named indexes in order, or the invalid ones then the bloated ones (most space to win
// first); everything past --max-indexes is listed as skipped.
export function planRebuilds(indexes: readonly IndexInfo[], bloat: ReadonlyMap<number, Bloat | string>, o: PlanOptions): ReindexPlan {
  const unmeasured: ReindexPlan['unmeasured'] = [];
  let items: RebuildItem[];
  let checked = 0;
  if (o.named) {
    items = o.named.map((index) => ({ index, reason: 'named' as const, status: 'planned' as const }));
  } else {
    const invalid = indexes
      .filter((i) => i.kind === 'i' && !i.valid && i.live && !i.leftoverName)
      .map((index) => ({ index, reason: 'invalid' as const, status: 'planned' as const }));
    const bloated: RebuildItem[] = [];
    for (const index of bloatCandidates(indexes, o.minSize)) {
      const b = bloat.get(index.oid);
      if (b === undefined) continue;
      checked++;
      if (typeof b === 'string') unmeasured.push({ index, why: b });
      else if (b.percent >= o.minBloat) bloated.push({ index, reason: 'bloat', bloat: b, status: 'planned' });
    }
    bloated.sort((a, b) => b.bloat!.reclaimBytes - a.bloat!.reclaimBytes || compareNames(qname(a.index), qname(b.index)));
    items = [...invalid, ...bloated];
  }
  let taken = 0;
  for (const item of items) {
    const why = cannotRebuild(item.index);
    if (why) {
      item.status = 'skipped';
      item.note = why;
    } else if (taken >= o.maxIndexes) {
      item.status = 'skipped';
      item.note = `over --max-indexes ${o.maxIndexes}: the next run takes it`;
    } else {
      taken++;
    }
  }
  return { leftovers: selectLeftovers(indexes), rebuild: items, checked, unmeasured };
}

// One line on why an index is on the list: "bloat 88.3% (~5.1 MB to win, pgstatindex)".
export function reasonText(item: RebuildItem): string {
  if (item.reason === 'named') return 'named with --index';
  if (item.reason === 'invalid') return 'invalid (a failed CREATE INDEX CONCURRENTLY or REINDEX)';
  const b = item.bloat!;
  return `bloat ${b.percent}% (~${formatSize(b.reclaimBytes)} to win, ${b.source})`;
}
