// Nagios plugin output: perfdata and the one status line every pgops check prints.
import { LEVEL_NAMES, type Level } from './level.ts';

// One perfdata value: 'label'=value[uom];warn;crit;min;max (empty fields stay empty, trailing ones are dropped).
export interface PerfDatum {
  label: string;
  value: number;
  uom?: '' | 's' | 'ms' | '%' | 'B' | 'c';
  /** a number, or a Nagios range such as '3:' (less is worse) */
  warn?: string | number;
  crit?: string | number;
  min?: number;
  max?: number;
}

// A perfdata label: quoted with single quotes, a quote inside doubled, = removed (Nagios cannot parse it).
export function perfLabel(label: string): string {
  return `'${label.replace(/=/g, '_').replace(/'/g, "''")}'`;
}

// A number as perfdata writes it: whole numbers as they are, others with at most two decimals.
function perfNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, '');
}

// One perfdata value as text.
export function formatPerf(p: PerfDatum): string {
  const fields = [p.warn ?? '', p.crit ?? '', p.min ?? '', p.max ?? ''].map((f) => (typeof f === 'number' ? perfNumber(f) : f));
  while (fields.length && fields[fields.length - 1] === '') fields.pop();
  return `${perfLabel(p.label)}=${perfNumber(p.value)}${p.uom ?? ''}${fields.length ? ';' + fields.join(';') : ''}`;
}

// The status line: PGOPS <NAME> <LEVEL> - text | perfdata. The text is kept on one line and free of '|', which
// would start the perfdata.
export function statusLine(name: string, level: Level, text: string, perf: readonly PerfDatum[] = []): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '/');
  return `PGOPS ${name} ${LEVEL_NAMES[level]} - ${oneLine}${perf.length ? ` | ${perf.map(formatPerf).join(' ')}` : ''}`;
}
