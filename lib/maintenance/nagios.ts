// Nagios plugin output for the maintenance checks (partitions check, health): levels, perfdata, the status line.
export type Level = 0 | 1 | 2 | 3;
export const LEVEL_NAMES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

// How bad a level is: CRITICAL outranks UNKNOWN (a check that could not run must not hide one that is critical),
// UNKNOWN outranks WARNING.
export function levelRank(level: Level): number {
  return { 0: 0, 1: 1, 3: 2, 2: 3 }[level];
}

// The overall level of several checks.
export function worstLevel(levels: Level[]): Level {
  return levels.reduce<Level>((w, l) => (levelRank(l) > levelRank(w) ? l : w), 0);
}

// Checks sorted worst first (a stable sort keeps their order within a level).
export function worstFirst<T extends { level: Level }>(items: T[]): T[] {
  return [...items].sort((a, b) => levelRank(b.level) - levelRank(a.level));
}

// One perfdata value: 'label'=value[uom];warn;crit;min;max (empty fields stay empty, trailing ones are dropped).
export interface PerfDatum {
  label: string;
  value: number;
  uom?: '' | 's' | 'ms' | '%' | 'B' | 'c';
  warn?: string | number;
  crit?: string | number;
  min?: number;
  max?: number;
}

// A perfdata label: quoted with single quotes, a quote inside doubled, = removed (Nagios cannot parse it).
export function perfLabel(label: string): string {
  return `'${label.replace(/=/g, '_').replace(/'/g, "''")}'`;
}

export function formatPerf(p: PerfDatum): string {
  const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, ''));
  const fields = [p.warn ?? '', p.crit ?? '', p.min ?? '', p.max ?? ''].map((f) => (typeof f === 'number' ? num(f) : f));
  while (fields.length && fields[fields.length - 1] === '') fields.pop();
  return `${perfLabel(p.label)}=${num(p.value)}${p.uom ?? ''}${fields.length ? ';' + fields.join(';') : ''}`;
}

// PGOPS <NAME> <LEVEL> - text | perfdata
export function statusLine(name: string, level: Level, text: string, perf: PerfDatum[]): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '/');
  return `PGOPS ${name} ${LEVEL_NAMES[level]} - ${oneLine}${perf.length ? ` | ${perf.map(formatPerf).join(' ')}` : ''}`;
}

// The level of a value against thresholds where more is worse; an absent threshold never fires.
export function levelAbove(value: number, warn?: number, crit?: number): Level {
  if (crit !== undefined && value > crit) return 2;
  if (warn !== undefined && value > warn) return 1;
  return 0;
}

// The level of a value against thresholds where less is worse.
export function levelBelow(value: number, warn?: number, crit?: number): Level {
  if (crit !== undefined && value < crit) return 2;
  if (warn !== undefined && value < warn) return 1;
  return 0;
}
