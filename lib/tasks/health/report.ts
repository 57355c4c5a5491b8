import { LEVEL_NAMES, type Level } from '../../check/level.ts';
import type { CheckResult } from './evaluate.ts';
import type { HealthFacts } from './facts.ts';

// Text for a markdown table cell: pipes escaped, line breaks flattened, backticks kept out of code spans.
export function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/`/g, "'");
}

// The markdown health report: an overview table of the checks, then one section per check with its rows.
export function healthMarkdown(f: HealthFacts, checks: CheckResult[], level: Level, when: Date): string {
  const out = [
    `# PostgreSQL health: ${LEVEL_NAMES[level]}`,
    '',
    `Database \`${cell(f.database)}\` on PostgreSQL ${f.version}${f.inRecovery ? ' (a standby)' : ''}, ${when.toISOString()}. Statistics since ${f.statsReset ?? 'the server started (never reset)'}.`,
    '',
    '| check | status | finding |',
    '|---|---|---|',
    ...checks.map((c) => `| ${c.title} | ${LEVEL_NAMES[c.level]} | ${cell(c.message)} |`),
  ];
  for (const c of checks) {
    out.push('', `## ${c.title}: ${LEVEL_NAMES[c.level]}`, '', cell(c.message));
    if (c.note) out.push('', `_${cell(c.note)}_`);
    if (c.table && c.table.rows.length) {
      out.push('', `| ${c.table.header.map(cell).join(' | ')} |`, `|${c.table.header.map(() => '---').join('|')}|`, ...c.table.rows.map((r) => `| ${r.map(cell).join(' | ')} |`));
    }
  }
  return out.join('\n') + '\n';
}
