import fs from 'node:fs';
import path from 'node:path';
import { median } from './stats.ts';

// bench:pitr's results: the samples, the medians of each operation, the ratios with their targets, where the
// time of each operation went, the text and markdown tables and the results files.

export interface PitrOp {
  id: string;
  label: string;
  /** a pgops run, whose peak RSS is measured */
  pgops: boolean;
}

// A ratio the report shows: op / baseline in the same round, with a target or for information.
export interface PitrComparison {
  label: string;
  op: string;
  baseline: string;
  maxRatio?: number;
}

// A part of an operation's time, cut from its log (from the first entry of one kind to the first of the next) or
// measured on its own; the `parts` of a sample hold its seconds.
export interface PhaseDef {
  id: string;
  label: string;
  /** log entry kinds (or 'spawn' / 'exit') the part runs between, for parts cut from a pgops log */
  from?: string;
  to?: string;
}

export interface PitrSample {
  round: number;
  op: string;
  seconds: number;
  /** user + system CPU of the command's process tree (pgBackRest's restore + replay: the restore's only) */
  cpuSeconds?: number;
  peakRssKb?: number;
  /** 1-minute load average just before the command started */
  load1: number;
  /** seconds of the operation's parts (PhaseDef ids) */
  parts?: Record<string, number>;
  /** recoveries: the WAL files restore_command restored */
  restored?: number;
}

export interface OpRow {
  op: string;
  label: string;
  medianSeconds: number;
  range: [number, number];
  medianCpuSeconds?: number;
  peakRssMb?: number;
}

export interface RatioRow {
  label: string;
  ratio: number;
  ratioRange: [number, number];
  maxRatio?: number;
  pass?: boolean;
}

export interface PhaseRow {
  label: string;
  medianSeconds: number;
  /** of the operation's median wall time */
  share: number;
}

export interface PhaseTable {
  title: string;
  rows: PhaseRow[];
}

export interface PitrReport {
  benchmark: 'pitr';
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; node: string; postgres: string; pgbackrest: string; loadAverage: { start: number[]; end: number[] } };
  pgops: { entry: string; commit: string };
  options: { rounds: number; sizeMb: number; walMb: number };
  targets: Record<string, number>;
  /** how each tool was run, in words, for the heading and the README's comparisons */
  settings: string[];
  database: { bytes: number; tarBytes: number; gzip1Ratio: number; walBytes: number; /** segments each recovery replays, from its backup's start segment to the archive's end */ walSegments: { pgops: number; pgbackrest: number } };
  /** one WAL segment fetched by each restore_command, interleaved: what replay pays per segment */
  fetch: { label: string; medianMs: number; minMs: number }[];
  samples: PitrSample[];
  ops: OpRow[];
  ratios: RatioRow[];
  phases: PhaseTable[];
  /** what each recovered server's log says about where replay ended */
  recoveries: { round: number; op: string; lines: string[] }[];
  missed: string[];
}

// The parts of a pgops run's wall time, cut at the first log entry of each kind (its JSON log lines on stderr); a part
// whose entries are missing is left out.
export function partsFromLog(stderr: string, spawnedAtMs: number, seconds: number, defs: readonly PhaseDef[]): Record<string, number> {
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
  const out: Record<string, number> = {};
  for (const d of defs) if (d.from && d.to && at[d.from] !== undefined && at[d.to] !== undefined) out[d.id] = (at[d.to] - at[d.from]) / 1000;
  return out;
}

// Median, lowest and highest seconds and peak RSS of each operation.
export function summariseOps(ops: readonly PitrOp[], samples: readonly PitrSample[]): OpRow[] {
  return ops.flatMap((op) => {
    const own = samples.filter((s) => s.op === op.id);
    if (!own.length) return [];
    const secs = own.map((s) => s.seconds);
    const rss = own.flatMap((s) => (s.peakRssKb === undefined ? [] : [s.peakRssKb]));
    const cpu = own.flatMap((s) => (s.cpuSeconds === undefined || Number.isNaN(s.cpuSeconds) ? [] : [s.cpuSeconds]));
    return [{ op: op.id, label: op.label, medianSeconds: median(secs), range: [Math.min(...secs), Math.max(...secs)] as [number, number], ...(cpu.length ? { medianCpuSeconds: median(cpu) } : {}), ...(rss.length ? { peakRssMb: Math.max(...rss) / 1024 } : {}) }];
  });
}

// Each comparison's median over rounds of (op / baseline in the same round), its range, and the verdict.
export function ratiosOf(comparisons: readonly PitrComparison[], samples: readonly PitrSample[]): RatioRow[] {
  return comparisons.flatMap((c) => {
    const ratios = samples
      .filter((s) => s.op === c.op)
      .flatMap((s) => {
        const base = samples.find((b) => b.op === c.baseline && b.round === s.round);
        return base ? [s.seconds / base.seconds] : [];
      });
    if (!ratios.length) return [];
    const ratio = median(ratios);
    const row: RatioRow = { label: c.label, ratio, ratioRange: [Math.min(...ratios), Math.max(...ratios)] };
    if (c.maxRatio !== undefined) Object.assign(row, { maxRatio: c.maxRatio, pass: ratio <= c.maxRatio });
    return [row];
  });
}

// Where an operation's time goes: the median of each part over the rounds, against the operation's median.
export function phaseTable(title: string, op: string, defs: readonly PhaseDef[], samples: readonly PitrSample[]): PhaseTable {
  const own = samples.filter((s) => s.op === op);
  const total = median(own.map((s) => s.seconds));
  const rows = defs.flatMap((d) => {
    const secs = own.flatMap((s) => (s.parts?.[d.id] === undefined ? [] : [s.parts[d.id]]));
    return secs.length ? [{ label: d.label, medianSeconds: median(secs), share: median(secs) / total }] : [];
  });
  rows.push({ label: 'whole run (wall clock, spawn to exit)', medianSeconds: total, share: 1 });
  return { title, rows };
}

const verdict = (pass: boolean | undefined) => (pass === undefined ? '' : pass ? 'ok' : 'MISSED');
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

function opTable(r: PitrReport): string[][] {
  return [
    ['operation', 'median s', 'rounds range s', 'CPU s', 'pgops peak RSS'],
    ...r.ops.map((o) => [o.label, o.medianSeconds.toFixed(2), `${o.range[0].toFixed(2)}-${o.range[1].toFixed(2)}`, o.medianCpuSeconds === undefined ? '' : o.medianCpuSeconds.toFixed(2), o.peakRssMb === undefined ? '' : `${o.peakRssMb.toFixed(0)} MB`]),
  ];
}

function ratioTable(r: PitrReport): string[][] {
  return [
    ['ratio (median over rounds)', 'ratio', 'rounds range', 'target', 'result'],
    ...r.ratios.map((x) => [x.label, `${x.ratio.toFixed(2)}x`, `${x.ratioRange[0].toFixed(2)}-${x.ratioRange[1].toFixed(2)}`, x.maxRatio === undefined ? '(info)' : `<= ${x.maxRatio.toFixed(2)}x`, verdict(x.pass)]),
  ];
}

function phaseRows(t: PhaseTable): string[][] {
  return [[t.title, 'median s', 'share'], ...t.rows.map((p) => [p.label, p.medianSeconds.toFixed(2), `${(p.share * 100).toFixed(0)}%`])];
}

function fetchTable(r: PitrReport): string[][] {
  return [['one WAL segment fetched by restore_command (as the server user)', 'median ms', 'min ms'], ...r.fetch.map((f) => [f.label, f.medianMs.toFixed(0), f.minMs.toFixed(0)])];
}

function heading(r: PitrReport): string {
  const d = r.database;
  const loads = r.samples.map((s) => s.load1);
  return (
    `database ${mb(d.bytes)} (base tar ${mb(d.tarBytes)}, gzip -1 ${d.gzip1Ratio.toFixed(1)}:1), workload WAL ${mb(d.walBytes)}; replayed segments: ${d.walSegments.pgops} from the pgops base backup, ${d.walSegments.pgbackrest} from pgBackRest's; ` +
    `${r.options.rounds} rounds, pgops from the ${r.pgops.entry}; load average (1 min) ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)} before the timed commands, on ${r.machine.cpus} CPUs`
  );
}

function verdictLine(r: PitrReport): string {
  return r.missed.length ? `MISSED ${r.missed.length} target(s): ${r.missed.join('; ')}` : 'all targets met';
}

function aligned(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
}

function markdownTable(rows: string[][]): string[] {
  const [head, ...body] = rows;
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map((row) => `| ${row.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`)];
}

function tables(r: PitrReport): string[][][] {
  return [ratioTable(r), opTable(r), ...r.phases.map(phaseRows), fetchTable(r)];
}

// The report as aligned plain text, for the terminal.
export function formatPitrText(r: PitrReport): string {
  const out = ['', heading(r), ...r.settings.map((s) => `  ${s}`)];
  for (const t of tables(r)) out.push('', ...aligned(t));
  out.push('', verdictLine(r), '');
  return out.join('\n');
}

// The report as markdown, for bench/results/pitr-latest.md.
export function formatPitrMarkdown(r: PitrReport, jsonFile: string): string {
  const out = [
    '# pgops point-in-time recovery benchmark: latest run',
    '',
    `Run ${r.startedAt} to ${r.finishedAt} on ${r.machine.cpus} CPUs (load average ${r.machine.loadAverage.start.map((l) => l.toFixed(2)).join(', ')} at the start, ${r.machine.loadAverage.end.map((l) => l.toFixed(2)).join(', ')} at the end), node ${r.machine.node}, ${r.machine.postgres}, ${r.machine.pgbackrest}; pgops ${r.pgops.commit}. Raw samples: \`${jsonFile}\`.`,
    'Ratios are the median over rounds of (this run / the other run in the same round); see bench/README.md.',
    '',
    `## ${heading(r)}`,
    '',
    ...r.settings.map((s) => `- ${s}`),
  ];
  for (const t of tables(r)) out.push('', ...markdownTable(t));
  out.push('', '### Where each recovered server says replay ended', '');
  for (const rec of r.recoveries) out.push(`- round ${rec.round}, ${rec.op}: ${rec.lines.join('; ') || '(no recovery lines in its log)'}`);
  out.push('', r.missed.length ? `**${verdictLine(r)}**` : 'All targets met.', '');
  return out.join('\n');
}

// Writes pitr-<UTC timestamp>.json and pitr-latest.md into dir; returns their paths.
export function writePitrResults(r: PitrReport, dir: string): { json: string; markdown: string } {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const json = path.join(dir, `pitr-${stamp}.json`);
  const markdown = path.join(dir, 'pitr-latest.md');
  fs.writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  fs.writeFileSync(markdown, formatPitrMarkdown(r, path.basename(json)));
  return { json, markdown };
}
