import { pitrDrillKey } from '../../../repo/layout.ts';
import type { PitrDrillReport } from '../../../repo/pitr-drill-reports.ts';
import { formatDuration } from '../../../units.ts';
import { cell, checkLines, checksTable } from '../render.ts';

// The point-in-time drill's summary and job summary, in the logical drill's shape (drill/render.ts): the verdict
// with RTO and RPO, then the checks, failures first.

const ms = (v: number | null) => (v === null ? '-' : formatDuration(v));

function headline(r: PitrDrillReport): string {
  const failed = r.checks.filter((c) => c.status === 'fail').length;
  const what = r.result === 'pass' ? 'PASSED' : r.result === 'fail' ? `FAILED (${failed} check${failed === 1 ? '' : 's'})` : 'COULD NOT RUN';
  return `point-in-time drill of base backup ${r.backupId} of system ${r.systemIdentifier} to ${r.target} ${what}: RTO ${ms(r.rtoMs)}, RPO ${ms(r.rpoMs)}`;
}

// Where replay stopped and how long each phase took, in one line.
function replayLine(r: PitrDrillReport): string {
  const d = r.durations;
  const phases = `download ${ms(d.downloadMs)}, lay-down ${ms(d.layDownMs)}, pg_verifybackup ${ms(d.verifyMs)}, replay ${ms(d.replayMs)}, checks ${ms(d.checksMs)}`;
  if (!r.replay) return `replay did not run (${phases})`;
  const p = r.replay;
  return `replay stopped at ${p.lsn ?? 'an unknown LSN'}${p.timeline !== null ? ` (timeline ${p.timeline})` : ''}, last transaction ${p.lastTransactionTime ?? 'unknown'}, server ${p.state} (${phases})`;
}

function scratchLine(r: PitrDrillReport): string {
  const where = `report: ${pitrDrillKey(r.systemIdentifier, r.drillId)}`;
  if (!r.scratch.kept) return `${where}; scratch folder ${r.scratch.dir} removed`;
  return `${where}; scratch folder ${r.scratch.dir} kept (--keep)${r.scratch.port ? `: the server listens on port ${r.scratch.port}, socket in ${r.scratch.dir} (psql -h ${r.scratch.dir} -p ${r.scratch.port} postgres)` : ''}; when done: pg_ctl -D ${r.scratch.dir}/data stop -m fast (as the server's user), then rm -rf ${r.scratch.dir}`;
}

// The human summary: the verdict, where replay stopped, the checks failures first, and where the report is.
export function renderText(r: PitrDrillReport): string {
  const lines = [headline(r), `  ${replayLine(r)}`];
  if (r.error) lines.push(`error: ${r.error}`);
  lines.push(...checkLines(r.checks));
  lines.push(scratchLine(r));
  return lines.join('\n');
}

// The markdown appended to GITHUB_STEP_SUMMARY: the verdict, the replay line and a table of checks, failures first.
export function renderMarkdown(r: PitrDrillReport): string {
  return [
    `### pgops point-in-time drill: ${r.result === 'pass' ? '✅' : '❌'} ${cell(headline(r))}`,
    '',
    cell(replayLine(r)),
    '',
    r.error ? `**Error:** ${cell(r.error)}\n` : '',
    ...checksTable(r.checks),
    '',
  ].join('\n');
}
