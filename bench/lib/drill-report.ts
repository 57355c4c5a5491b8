import fs from 'node:fs';
import path from 'node:path';
import type { Row, Sample } from './report.ts';
import { median } from './stats.ts';

// The parts of a drill's wall time, cut at the log entries pgops writes as it goes (kind in brackets).
export const DRILL_PHASES = [
  { id: 'startup', label: 'start-up, repository, server checks (to [plan])', from: 'spawn', to: 'plan' },
  { id: 'checksums', label: 'sha256 of the set (to [globals])', from: 'plan', to: 'globals' },
  { id: 'create', label: 'globals.sql, CREATE DATABASE, owner (to [pg_restore])', from: 'globals', to: 'pg_restore' },
  { id: 'pg_restore', label: 'pg_restore -j 2, settings, privileges (to [compare])', from: 'pg_restore', to: 'compare' },
  { id: 'compare', label: 'fingerprints, inventory, DROP scratch (to [cleanup])', from: 'compare', to: 'cleanup' },
  { id: 'exit', label: 'report stored, exit', from: 'cleanup', to: 'exit' },
] as const;

export type DrillPhase = (typeof DRILL_PHASES)[number]['id'];

// One timed drill: its wall time, what its JSON said and where the time went.
export interface DrillRound {
  round: number;
  /** the fingerprints the drilled backup has */
  fingerprint: 'hash' | 'count';
  backupId: string;
  seconds: number;
  result: string;
  /** the drill's own restore time (checksums + create + globals + pg_restore) */
  rtoMs: number | null;
  /** names and details of the checks that did not pass */
  failed: string[];
  phasesMs: Partial<Record<DrillPhase, number>>;
}

export interface DrillBenchSample extends Sample {
  /** 1-minute load average just before the command started */
  load1: number;
}

export interface DrillBenchReport {
  benchmark: 'drill';
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; node: string; postgres: string; loadAverage: { start: number[]; end: number[] } };
  pgops: { entry: string; commit: string };
  options: { dataset: string; scale: number; rounds: number };
  targets: { count: number; hash: number; drill: number };
  database: { bytes: number; hashDumpBytes: number };
  samples: DrillBenchSample[];
  rows: Row[];
  drills: DrillRound[];
  /** untimed DROP DATABASE of each bare restore: what the drill's own DROP of its scratch database roughly costs */
  bareDropSeconds: number[];
  /** the highest peak RSS of any pgops run */
  peakRssMb: number;
  missed: string[];
}

// The phase durations of one drill from its JSON log lines on stderr; a phase whose entries are missing is left out.
export function drillPhases(stderr: string, spawnedAtMs: number, seconds: number): Partial<Record<DrillPhase, number>> {
  const at: Record<string, number> = { spawn: spawnedAtMs, exit: spawnedAtMs + seconds * 1000 };
  for (const line of stderr.split('\n')) {
    let entry: { time?: string; kind?: string };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.kind && entry.time && at[entry.kind] === undefined) at[entry.kind] = Date.parse(entry.time);
  }
  const out: Partial<Record<DrillPhase, number>> = {};
  for (const p of DRILL_PHASES) if (at[p.from] !== undefined && at[p.to] !== undefined) out[p.id] = at[p.to] - at[p.from];
  return out;
}

const verdict = (pass: boolean | undefined) => (pass === undefined ? '' : pass ? 'ok' : 'MISSED');
const secs = (ms: number) => (ms / 1000).toFixed(2);
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;

const MAIN_HEAD = ['operation', 'median s', 'ratio', 'vs', 'rounds range', 'target', 'result', 'pgops peak RSS'];

function mainTable(r: DrillBenchReport, baselineLabel: (op: string) => string): string[][] {
  const rows = r.rows.map((row) => [
    row.label,
    row.medianSeconds.toFixed(2),
    row.ratio === undefined ? '(base)' : row.ratio.toFixed(2),
    row.ratio === undefined ? '' : baselineLabel(row.op),
    row.ratioRange === undefined ? '' : `${row.ratioRange[0].toFixed(2)}-${row.ratioRange[1].toFixed(2)}`,
    row.maxRatio !== undefined ? `<= ${row.maxRatio.toFixed(2)}` : row.ratio !== undefined ? '(info)' : '',
    verdict(row.pass),
    row.peakRssMb === undefined ? '' : `${row.peakRssMb.toFixed(0)} MB`,
  ]);
  rows.push(['pgops peak RSS, any run', '', '', '', '', '(info)', '', `${r.peakRssMb.toFixed(0)} MB`]);
  return rows;
}

const PHASE_HEAD = ['pgops drill (hash), where the time goes', 'median s', 'of the drill'];

// Where the hash drills' time goes (the count drills differ only in the comparison).
function phaseTable(r: DrillBenchReport): string[][] {
  const drills = r.drills.filter((d) => d.fingerprint !== 'count');
  const total = median(drills.map((d) => d.seconds)) * 1000;
  const rows = DRILL_PHASES.map((p) => {
    const ms = median(drills.flatMap((d) => (d.phasesMs[p.id] === undefined ? [] : [d.phasesMs[p.id]!])));
    return [p.label, Number.isNaN(ms) ? '?' : secs(ms), Number.isNaN(ms) ? '' : pct(ms, total)];
  });
  const rto = median(drills.flatMap((d) => (d.rtoMs === null ? [] : [d.rtoMs])));
  rows.push(['whole drill (wall clock, spawn to exit)', secs(total), '100%']);
  rows.push(["drill's own rtoMs (checksums to end of pg_restore)", secs(rto), pct(rto, total)]);
  rows.push(['  so: everything but the restore', secs(total - rto), pct(total - rto, total)]);
  rows.push(['DROP DATABASE of the bare restore (untimed, for scale)', median(r.bareDropSeconds).toFixed(2), '']);
  return rows;
}

function aligned(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
}

function markdownTable(rows: string[][]): string[] {
  const [head, ...body] = rows;
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map((row) => `| ${row.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`)];
}

function heading(r: DrillBenchReport): string {
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  const loads = r.samples.map((s) => s.load1);
  const what = r.options.dataset === 'regression' ? 'the regression database' : `scale ${r.options.scale}: pgbench database`;
  return `${what} ${mb(r.database.bytes)}, hash backup's dump ${mb(r.database.hashDumpBytes)}, ${r.options.rounds} rounds, pgops from the ${r.pgops.entry}; load average (1 min) ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)} before the timed commands, on ${r.machine.cpus} CPUs`;
}

function drillLines(r: DrillBenchReport): string[] {
  return r.drills.map((d) => `round ${d.round}: ${d.fingerprint ?? 'hash'} drill of ${d.backupId} ${d.seconds.toFixed(2)} s, rtoMs ${d.rtoMs ?? 'null'}, result ${d.result === 'pass' ? 'pass' : `${d.result.toUpperCase()}: ${d.failed.join('; ')}`}`);
}

function verdictLine(r: DrillBenchReport): string {
  return r.missed.length ? `MISSED ${r.missed.length} target(s): ${r.missed.join('; ')}` : 'all targets met';
}

// The report as aligned plain text, for the terminal.
export function formatDrillText(r: DrillBenchReport, baselineLabel: (op: string) => string): string {
  return ['', heading(r), '', ...aligned([MAIN_HEAD, ...mainTable(r, baselineLabel)]), '', ...aligned([PHASE_HEAD, ...phaseTable(r)]), '', ...drillLines(r), '', verdictLine(r), ''].join('\n');
}

// The report as markdown, for bench/results/drill-latest.md.
export function formatDrillMarkdown(r: DrillBenchReport, baselineLabel: (op: string) => string, jsonFile: string): string {
  return [
    '# pgops drill benchmark: latest run',
    '',
    `Run ${r.startedAt} to ${r.finishedAt} on ${r.machine.cpus} CPUs (load average ${r.machine.loadAverage.start.map((l) => l.toFixed(2)).join(', ')} at the start, ${r.machine.loadAverage.end.map((l) => l.toFixed(2)).join(', ')} at the end), node ${r.machine.node}, ${r.machine.postgres}; pgops ${r.pgops.commit}. Raw samples: \`${jsonFile}\`.`,
    'Ratios are the median over rounds of (this run / the "vs" run in the same round); see bench/README.md.',
    '',
    `## ${heading(r)}`,
    '',
    ...markdownTable([MAIN_HEAD, ...mainTable(r, baselineLabel)]),
    '',
    ...markdownTable([PHASE_HEAD, ...phaseTable(r)]),
    '',
    ...drillLines(r).map((l) => `- ${l}`),
    '',
    r.missed.length ? `**${verdictLine(r)}**` : 'All targets met.',
    '',
  ].join('\n');
}

// Writes drill-<UTC timestamp>.json and drill-latest.md into dir; returns their paths.
export function writeDrillResults(r: DrillBenchReport, baselineLabel: (op: string) => string, dir: string): { json: string; markdown: string } {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const json = path.join(dir, `drill-${stamp}.json`);
  const markdown = path.join(dir, 'drill-latest.md');
  fs.writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  fs.writeFileSync(markdown, formatDrillMarkdown(r, baselineLabel, path.basename(json)));
  return { json, markdown };
}
