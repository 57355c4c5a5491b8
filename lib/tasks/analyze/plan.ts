import type { ActionStatus } from '../../plan/outcome.ts';
import type { AnalyzeDefaults, TableStat } from './catalog.ts';

// A relation to analyze, why, and later what became of it.
export interface AnalyzeItem {
  table: TableStat;
  reasons: string[];
  /** partitions whose own need is met by analyzing this partitioned table (ANALYZE recurses into them) */
  covers: TableStat[];
  status: ActionStatus;
  note?: string;
  attempts?: number;
  durationMs?: number;
  error?: string;
}

// The number of changed rows past which autovacuum would analyze the table: threshold + scale factor × rows,
// each from the table's reloptions when set. Never-counted tables (reltuples -1) count as empty, as autovacuum does.
export function analyzeThreshold(t: Pick<TableStat, 'threshold' | 'scaleFactor' | 'reltuples'>, d: AnalyzeDefaults): number {
  return (t.threshold ?? d.threshold) + (t.scaleFactor ?? d.scaleFactor) * Math.max(0, t.reltuples);
}

// Never analyzed: no analyze time and no statistics (statistics outlive pg_stat_reset and crash recovery).
export function neverAnalyzed(t: TableStat): boolean {
  return t.lastAnalyze === null && t.lastAutoanalyze === null && !t.hasStats;
}

// Why a table or materialized view needs ANALYZE now, if it does: the test autovacuum applies, or never analyzed.
export function staleReason(t: TableStat, d: AnalyzeDefaults): string | undefined {
  if (t.kind === 'p') return undefined;
  if (neverAnalyzed(t)) return 'never analyzed';
  const limit = analyzeThreshold(t, d);
  if (t.changes > limit) {
    const base = t.threshold ?? d.threshold;
    const scale = t.scaleFactor ?? d.scaleFactor;
    const own = t.threshold !== null || t.scaleFactor !== null ? ', reloptions' : '';
    return `${t.changes} rows changed since the last analyze > threshold ${round(limit)} (${base} + ${scale} × ${round(Math.max(0, t.reltuples))} rows${own})`;
  }
  return undefined;
}

// Why a partitioned table needs ANALYZE: autovacuum never analyzes one, so its statistics (used to plan queries on
// the whole table) are only as fresh as the last manual ANALYZE. It is due when never analyzed, when a partition is
// due now, or when autovacuum analyzed a partition after the parent's last analyze (its data moved since).
export function parentReasons(p: TableStat, partitions: readonly TableStat[], d: AnalyzeDefaults): string[] {
  const reasons: string[] = [];
  if (neverAnalyzed(p)) reasons.push('never analyzed (autovacuum never analyzes partitioned tables)');
  const stale = partitions.filter((t) => staleReason(t, d) !== undefined);
  if (stale.length) reasons.push(`${stale.length} partition(s) due: ${names(stale)}`);
  const since = p.lastAnalyze ?? p.lastAutoanalyze;
  if (since) {
    const moved = partitions.filter((t) => t.lastAutoanalyze !== null && t.lastAutoanalyze > since && !stale.includes(t));
    if (moved.length) reasons.push(`${moved.length} partition(s) auto-analyzed after the parent's last analyze: ${names(moved)}`);
  }
  return reasons;
}

// The relations to analyze, in the catalogue's order (schema, name). A partition whose partitioned ancestor is on the list is covered by it
// (ANALYZE of a partitioned table analyzes its partitions too) and not analyzed twice.
export function planAnalyze(tables: readonly TableStat[], d: AnalyzeDefaults): AnalyzeItem[] {
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  const due = new Map<number, string[]>();
  for (const t of tables) {
    const reasons = t.kind === 'p'
      ? parentReasons(t, tables.filter((x) => x.kind !== 'p' && x.ancestors.includes(t.oid)), d)
      : [staleReason(t, d)].filter((r): r is string => r !== undefined);
    if (reasons.length) due.set(t.oid, reasons);
  }
  const items: AnalyzeItem[] = [];
  const coveredBy = new Map<number, number>();
  for (const oid of due.keys()) {
    const top = [...byOid.get(oid)!.ancestors].reverse().find((a) => due.has(a));
    if (top !== undefined) coveredBy.set(oid, top);
  }
  for (const [oid, reasons] of due) {
    if (coveredBy.has(oid)) continue;
    const table = byOid.get(oid)!;
    const covers = [...coveredBy].filter(([, by]) => by === oid).map(([c]) => byOid.get(c)!);
    const item: AnalyzeItem = { table, reasons, covers, status: 'planned' };
    if (!table.mayAnalyze) {
      item.status = 'skipped';
      item.note = 'the role does not own it (nor the database): ANALYZE would skip it with a warning';
    }
    items.push(item);
  }
  return items;
}

const names = (ts: readonly TableStat[]) => ts.map((t) => t.name).join(', ');
const round = (n: number) => Math.round(n * 10) / 10;
