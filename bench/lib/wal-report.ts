import fs from 'node:fs';
import path from 'node:path';
import { loadRange } from './report.ts';
import { median, percentile } from './stats.ts';

// One way of archiving a segment, as a row of the table.
export interface WalOp {
  id: string;
  label: string;
  /** the operation this one is compared with (per segment, same round) */
  baseline?: string;
  /** the largest acceptable median ratio to the baseline */
  maxRatio?: number;
}

// What one option of pgops costs a push: op against baseline, both pgops pushes of the same segment in the same round.
export interface WalCostSpec {
  id: string;
  label: string;
  op: string;
  baseline: string;
  /** the largest acceptable median of the per-segment differences */
  maxMedianMs: number;
}

export interface WalSample {
  round: number;
  segment: string;
  op: string;
  seconds: number;
  /** 1-minute load average just before the push started */
  load1?: number;
}

export interface WalRow {
  op: string;
  label: string;
  samples: number;
  medianMs: number;
  p95Ms: number;
  /** segments per second pushed back to back: samples / the sum of their latencies */
  perSecond: number;
  /** median over segments of (this push / the baseline's push of the same segment in the same round) */
  ratio?: number;
  maxRatio?: number;
  pass?: boolean;
}

// The per-segment differences op - baseline (same segment, same round): their median and p95, against the target.
export interface WalCostRow extends WalCostSpec {
  samples: number;
  medianMs: number;
  p95Ms: number;
  pass: boolean;
}

export interface StartupRow {
  label: string;
  medianMs: number;
  minMs: number;
}

export interface WalReport {
  benchmark: 'wal';
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; node: string; postgres: string; pgbackrest: string; loadAverage: { start: number[]; end: number[] } };
  pgops: { entry: string; commit: string };
  options: { segments: number; rounds: number; segmentBytes: number };
  rows: WalRow[];
  costs: WalCostRow[];
  startup: StartupRow[];
  samples: WalSample[];
  missed: string[];
}

// Latency median and p95, throughput and the ratio to the baseline of each operation.
export function summariseWal(ops: readonly WalOp[], samples: readonly WalSample[]): WalRow[] {
  return ops.map((op) => {
    const own = samples.filter((s) => s.op === op.id);
    const secs = own.map((s) => s.seconds);
    const row: WalRow = {
      op: op.id,
      label: op.label,
      samples: own.length,
      medianMs: median(secs) * 1000,
      p95Ms: percentile(secs, 95) * 1000,
      perSecond: own.length / secs.reduce((a, b) => a + b, 0),
    };
    if (op.baseline) {
      row.ratio = median(
        own.flatMap((s) => {
          const base = samples.find((b) => b.op === op.baseline && b.round === s.round && b.segment === s.segment);
          return base ? [s.seconds / base.seconds] : [];
        }),
      );
      if (op.maxRatio !== undefined) {
        row.maxRatio = op.maxRatio;
        row.pass = row.ratio <= op.maxRatio;
      }
    }
    return row;
  });
}

// The per-segment differences of each cost, in ms.
export function summariseWalCosts(specs: readonly WalCostSpec[], samples: readonly WalSample[]): WalCostRow[] {
  return specs.map((spec) => {
    const diffs = samples.flatMap((s) => {
      const base = s.op === spec.op ? samples.find((b) => b.op === spec.baseline && b.round === s.round && b.segment === s.segment) : undefined;
      return base ? [(s.seconds - base.seconds) * 1000] : [];
    });
    const medianMs = median(diffs);
    return { ...spec, samples: diffs.length, medianMs, p95Ms: percentile(diffs, 95), pass: medianMs <= spec.maxMedianMs };
  });
}

const HEAD = ['operation', 'median ms', 'p95 ms', 'segments/s', 'ratio', 'target', 'result'];

function cells(r: WalRow, baselineLabel: (op: string) => string): string[] {
  return [
    r.label,
    r.medianMs.toFixed(1),
    r.p95Ms.toFixed(1),
    r.perSecond.toFixed(1),
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
    r.maxRatio === undefined ? (r.ratio === undefined ? '' : '(info)') : `<= ${r.maxRatio.toFixed(2)}x ${baselineLabel(r.op)}`,
    r.pass === undefined ? '' : r.pass ? 'ok' : 'MISSED',
  ];
}

const signed = (ms: number) => `${ms >= 0 ? '+' : ''}${ms.toFixed(1)}`;

// A cost as a row of the same table: its median ms and p95 ms are those of the per-segment differences.
function costCells(c: WalCostRow): string[] {
  return [c.label, signed(c.medianMs), signed(c.p95Ms), '', '', `median <= +${c.maxMedianMs.toFixed(1)} ms`, c.pass ? 'ok' : 'MISSED'];
}

// The costs that missed their target, as short phrases.
export function missedCosts(costs: readonly WalCostRow[]): string[] {
  return costs.filter((c) => !c.pass).map((c) => `${c.label} median ${signed(c.medianMs)} ms > +${c.maxMedianMs.toFixed(1)} ms`);
}

// The report as aligned text for the terminal.
export function formatWalText(r: WalReport, ops: readonly WalOp[]): string {
  const base = (op: string) => ops.find((o) => o.id === ops.find((x) => x.id === op)?.baseline)?.id ?? '';
  const rows = [HEAD, ...r.rows.map((row) => cells(row, base)), ...r.costs.map(costCells)];
  const widths = HEAD.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const out = ['', heading(r), ''];
  for (const row of rows) out.push(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
  out.push('', 'start-up (no segment pushed):');
  for (const s of r.startup) out.push(`  ${s.label.padEnd(58)} median ${s.medianMs.toFixed(0).padStart(4)} ms, min ${s.minMs.toFixed(0).padStart(4)} ms`);
  out.push('', r.missed.length ? `MISSED ${r.missed.length} target(s): ${r.missed.join('; ')}` : 'all targets met', '');
  return out.join('\n');
}

function heading(r: WalReport): string {
  const costs = r.costs.length ? `; a cost row's ms are of (the one push - the other on the same segment)` : '';
  return `${r.options.segments} segments of ${(r.options.segmentBytes / 1024 / 1024).toFixed(0)} MB x ${r.options.rounds} rounds, interleaved; ratio = median over segments of (this / the baseline on the same segment)${costs}; pgops from the ${r.pgops.entry}${loadRange(r.samples)}`;
}

// The report as markdown, for bench/results/wal-latest.md.
export function formatWalMarkdown(r: WalReport, ops: readonly WalOp[], jsonFile: string): string {
  const base = (op: string) => ops.find((o) => o.id === ops.find((x) => x.id === op)?.baseline)?.id ?? '';
  const out = [
    '# pgops WAL archiving benchmark: latest run',
    '',
    `Run ${r.startedAt} to ${r.finishedAt} on ${r.machine.cpus} CPUs (load average ${r.machine.loadAverage.start.map((l) => l.toFixed(2)).join(', ')} at the start, ${r.machine.loadAverage.end.map((l) => l.toFixed(2)).join(', ')} at the end), node ${r.machine.node}, ${r.machine.postgres}, ${r.machine.pgbackrest}, pgops ${r.pgops.commit}. Raw samples: \`${jsonFile}\`. See bench/README.md.`,
    '',
    `## ${heading(r)}`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...r.rows.map((row) => `| ${cells(row, base).join(' | ')} |`),
    ...r.costs.map((c) => `| ${costCells(c).join(' | ')} |`),
    '',
    '## Start-up (no segment pushed)',
    '',
    '| command | median ms | min ms |',
    '| --- | ---: | ---: |',
    ...r.startup.map((s) => `| ${s.label} | ${s.medianMs.toFixed(0)} | ${s.minMs.toFixed(0)} |`),
    '',
    r.missed.length ? `**MISSED ${r.missed.length} target(s):** ${r.missed.join('; ')}` : 'All targets met.',
    '',
  ];
  return out.join('\n');
}

// Writes wal-<UTC timestamp>.json and wal-latest.md into dir; returns their paths.
export function writeWalResults(r: WalReport, ops: readonly WalOp[], dir: string): { json: string; markdown: string } {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const json = path.join(dir, `wal-${stamp}.json`);
  const markdown = path.join(dir, 'wal-latest.md');
  fs.writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  fs.writeFileSync(markdown, formatWalMarkdown(r, ops, path.basename(json)));
  return { json, markdown };
}
