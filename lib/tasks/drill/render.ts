import type { DrillCheck, DrillReport } from '../../repo/drill-reports.ts';
import { formatDuration } from '../../units.ts';

const order: Record<string, number> = { fail: 0, note: 1, skip: 2, pass: 3 };
const sorted = (checks: DrillCheck[]) => [...checks].sort((a, b) => order[a.status] - order[b.status]);
const mark: Record<string, string> = { pass: 'ok  ', fail: 'FAIL', note: 'note', skip: 'skip' };

function headline(r: DrillReport): string {
  const failed = r.checks.filter((c) => c.status === 'fail').length;
  const what = r.result === 'pass' ? 'PASSED' : r.result === 'fail' ? `FAILED (${failed} check${failed === 1 ? '' : 's'})` : 'COULD NOT RUN';
  return `drill of backup ${r.backupId} of "${r.database}" ${what}: RTO ${r.rtoMs === null ? '-' : formatDuration(r.rtoMs)}, RPO ${formatDuration(r.rpoMs)}`;
}

// The human summary: the verdict, then failures first, then notes, skips and passes.
export function renderText(r: DrillReport): string {
  const lines = [headline(r)];
  if (r.error) lines.push(`error: ${r.error}`);
  lines.push(...checkLines(r.checks));
  // the restore check is there once the scratch database was created (a set whose checksums fail never gets one)
  const created = r.checks.some((c) => c.name === 'restore');
  lines.push(`report: drills/.../${r.drillId}.json; scratch database ${r.scratchDatabase} ${r.kept ? 'kept (--keep)' : created ? 'dropped' : 'not created'}`);
  return lines.join('\n');
}

// One line per check, failures first, then notes, skips and passes (both kinds of drill).
export function checkLines(checks: DrillCheck[]): string[] {
  return sorted(checks).map((c) => `  ${mark[c.status]} ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
}

// Text made safe for one markdown table cell.
export const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

// The job summary's table of checks, failures first (both kinds of drill).
export function checksTable(checks: DrillCheck[]): string[] {
  const icon: Record<string, string> = { pass: '✅', fail: '❌', note: 'ℹ️', skip: '⏭️' };
  return ['| | check | detail |', '|---|---|---|', ...sorted(checks).map((c) => `| ${icon[c.status]} | ${cell(c.name)} | ${cell(c.detail ?? '')} |`)];
}

// The markdown appended to GITHUB_STEP_SUMMARY: the verdict and a table of checks, failures first.
export function renderMarkdown(r: DrillReport): string {
  return [
    `### pgops restore drill: ${r.result === 'pass' ? '✅' : '❌'} ${cell(headline(r))}`,
    '',
    r.error ? `**Error:** ${cell(r.error)}\n` : '',
    ...checksTable(r.checks),
    '',
  ].join('\n');
}
