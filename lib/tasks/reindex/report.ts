import { formatTable } from '../../plan/table.ts';
import { displayName } from '../../pg/display-name.ts';
import { outcomeText } from '../../plan/outcome.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { reasonText, type LeftoverItem, type RebuildItem, type ReindexPlan } from './plan.ts';

export interface PlanHeader {
  database: string;
  measured: string;
  minSize: number;
  minBloat: number;
  maxIndexes: number;
  maxDurationMs: number;
  named: boolean;
}

const idx = (i: { schema: string; name: string }) => displayName(i.schema, i.name);
const tbl = (i: { schema: string; table: string }) => displayName(i.schema, i.table);

// The plan, printed before anything is done: leftovers to drop, then the rebuild list in order.
export function formatPlan(plan: ReindexPlan, h: PlanHeader): string {
  const lines: string[] = [];
  const planned = plan.rebuild.filter((r) => r.status === 'planned').length;
  lines.push(h.named
    ? `reindex plan for database "${h.database}": the ${plan.rebuild.length} index(es) named with --index`
    : `reindex plan for database "${h.database}": bloat ${h.measured}; ${plan.checked} B-tree index(es) of ${formatSize(h.minSize)} or more checked against --min-bloat ${h.minBloat}%`);
  if (plan.leftovers.length) {
    lines.push('', 'leftovers of failed concurrent rebuilds (invalid), dropped first with DROP INDEX CONCURRENTLY:');
    lines.push(indent(formatTable(['index', 'table', 'size', 'note'], plan.leftovers.map((l) => [idx(l.index), tbl(l.index), formatSize(l.index.size), l.note ?? '']))));
  } else {
    lines.push('', 'no leftovers of failed concurrent rebuilds');
  }
  if (plan.rebuild.length) {
    lines.push('', `rebuilt one at a time with REINDEX INDEX CONCURRENTLY: ${planned} (at most ${h.maxIndexes}; none started after ${formatDuration(h.maxDurationMs)}):`);
    lines.push(indent(formatTable(['#', 'index', 'table', 'size', 'why', 'note'], plan.rebuild.map((r, i) => [
      r.status === 'planned' ? String(i + 1) : '-', idx(r.index), tbl(r.index), formatSize(r.index.size), reasonText(r), r.status === 'skipped' ? `skipped: ${r.note}` : '',
    ]))));
  } else {
    lines.push('', 'no index to rebuild');
  }
  for (const u of plan.unmeasured) lines.push(`not measured: ${idx(u.index)}: ${u.why}`);
  return lines.join('\n');
}

// The summary printed at the end: every action with its outcome, and the totals.
export function formatResults(plan: ReindexPlan, database: string, execute: boolean, elapsedMs: number): string {
  const rows: string[][] = [
    ...plan.leftovers.map((l) => ['drop', idx(l.index), tbl(l.index), formatSize(l.index.size), l.status === 'done' ? '0 B' : '', '', outcome(l)]),
    ...plan.rebuild.map((r) => ['rebuild', idx(r.index), tbl(r.index), formatSize(r.index.size), r.sizeAfter !== undefined ? formatSize(r.sizeAfter) : '', r.durationMs !== undefined ? formatDuration(r.durationMs) : '', outcome(r)]),
  ];
  const table = rows.length ? formatTable(['action', 'index', 'table', 'before', 'after', 'time', 'result'], rows) : 'nothing to do: no leftovers, no index over the thresholds';
  return `${table}\n${totals(plan, database, execute, elapsedMs)}`;
}

function outcome(item: LeftoverItem | RebuildItem): string {
  return outcomeText(item, 'leftBehind' in item && item.leftBehind?.length ? `; left behind ${item.leftBehind.join(', ')}` : '');
}

function totals(plan: ReindexPlan, database: string, execute: boolean, elapsedMs: number): string {
  const all = [...plan.leftovers, ...plan.rebuild];
  const count = (s: string) => all.filter((x) => x.status === s).length;
  if (!execute) {
    return `dry run on database "${database}": ${count('planned')} action(s) planned, ${count('skipped')} skipped; nothing changed; add --execute to act`;
  }
  const won = plan.rebuild.filter((r) => r.status === 'done' && r.sizeAfter !== undefined).reduce((n, r) => n + Math.max(0, r.index.size - r.sizeAfter!), 0)
    + plan.leftovers.filter((l) => l.status === 'done').reduce((n, l) => n + l.index.size, 0);
  return `reindex of database "${database}": ${count('done')} done, ${count('failed')} failed, ${count('skipped')} skipped; ${formatSize(won)} given back in ${formatDuration(elapsedMs)}`;
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}
