import { formatSize } from '../../units.ts';
import type { RetentionDecision } from './plan.ts';
import type { StoredWalFile, WalExpiry } from './wal-expiry.ts';

// The plan as a table: one row per set, grouped by database (base backups: by system), newest first.
export function formatPlan(decisions: readonly RetentionDecision[], group: 'database' | 'system' = 'database'): string {
  const rows = [[group, group === 'database' ? 'id' : 'base backup', 'action', 'size', 'reasons']];
  for (const d of decisions) rows.push([d.set.database ?? d.set.systemIdentifier ?? '', d.set.id, d.action, formatSize(d.set.size), d.reasons.join(', ')]);
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]))).join('  ')).join('\n');
}

// Counts and bytes of a plan: "3 to delete (1.2 GB), 20 kept"; with a noun, "1 base backup(s) to delete (25.0 MB), 2 kept".
export function formatTotals(decisions: readonly RetentionDecision[], noun?: string): string {
  const doomed = decisions.filter((d) => d.action === 'delete');
  const bytes = doomed.reduce((sum, d) => sum + d.set.size, 0);
  return `${doomed.length}${noun ? ` ${noun}(s)` : ''} to delete (${formatSize(bytes)}), ${decisions.length - doomed.length} kept`;
}

// One system's WAL plan in a line: what goes (per timeline, first..last), and from where it is kept, and why.
export function formatWal(p: WalExpiry): string {
  const head = `wal of system ${p.systemIdentifier}`;
  const kept = `${p.kept.files} file(s), ${formatSize(p.kept.bytes)}`;
  if (p.keptBecause) return `${head}: ${p.keptBecause} (${kept})`;
  const from = `kept from ${p.cutoff!.segment} on, the start of base backup ${p.cutoff!.backupId}, the oldest kept (${kept}; history files always kept)`;
  const locked = p.locked ? `; ${p.locked.files} file(s) below it (${formatSize(p.locked.bytes)}) kept under object lock${p.locked.next ? `, the first deletable at ${p.locked.next}` : ''}` : '';
  if (p.doomed.length === 0) return `${head}: nothing below ${p.cutoff!.segment} to delete; ${from}${locked}`;
  return `${head}: delete ${walRanges(p.doomed)}; ${from}${locked}`;
}

// The files that go, per timeline: "000000010000000000000001..00000001000000000000000B: 11 files, 176.0 MB".
export function walRanges(files: readonly StoredWalFile[]): string {
  const byTimeline = new Map<number, StoredWalFile[]>();
  for (const f of files) byTimeline.set(f.timeline, [...(byTimeline.get(f.timeline) ?? []), f]);
  return [...byTimeline.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, fs]) => {
      const range = fs.length === 1 ? fs[0].name : `${fs[0].name}..${fs.at(-1)!.name}`;
      return `${range}: ${fs.length} file${fs.length === 1 ? '' : 's'}, ${formatSize(fs.reduce((s, f) => s + f.bytes, 0))}`;
    })
    .join('; ');
}
