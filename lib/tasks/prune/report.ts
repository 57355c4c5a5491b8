import { formatSize } from '../../units.ts';
import type { RetentionDecision } from './plan.ts';

// The plan as a table: one row per set, grouped by database, newest first.
export function formatPlan(decisions: readonly RetentionDecision[]): string {
  const rows = [['database', 'id', 'action', 'size', 'reasons']];
  for (const d of decisions) rows.push([d.set.database, d.set.id, d.action, formatSize(d.set.size), d.reasons.join(', ')]);
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]))).join('  ')).join('\n');
}

// Counts and bytes of a plan: "3 to delete (1.2 GB), 20 kept".
export function formatTotals(decisions: readonly RetentionDecision[]): string {
  const doomed = decisions.filter((d) => d.action === 'delete');
  const bytes = doomed.reduce((sum, d) => sum + d.set.size, 0);
  return `${doomed.length} to delete (${formatSize(bytes)}), ${decisions.length - doomed.length} kept`;
}
