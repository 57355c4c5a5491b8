import fs from 'node:fs';
import path from 'node:path';
import { median } from './stats.ts';

export interface OpSpec {
  id: string;
  label: string;
  /** the bare tool this operation is compared with; none for the bare tools themselves */
  baseline?: string;
  /** the largest acceptable ratio to the baseline; none for operations measured for information */
  maxRatio?: number;
  /** a pgops run, whose peak RSS is measured */
  pgops: boolean;
}

// A comparison of two operations of the same run, neither of them bare: what one option of pgops costs (encryption).
export interface CostSpec {
  id: string;
  label: string;
  /** the operation that pays the cost, and the one without it */
  op: string;
  baseline: string;
  maxRatio: number;
}

export interface Sample {
  round: number;
  op: string;
  seconds: number;
  peakRssKb?: number;
  /** 1-minute load average just before the command started */
  load1?: number;
}

export interface Row {
  op: string;
  label: string;
  medianSeconds: number;
  /** median over the rounds of (this run / the baseline's run in the same round) */
  ratio?: number;
  /** the lowest and highest per-round ratio: their spread shows how noisy the machine was */
  ratioRange?: [number, number];
  maxRatio?: number;
  pass?: boolean;
  peakRssMb?: number;
}

// What a cost costs: op against baseline, both pgops runs of the same round.
export interface CostRow {
  id: string;
  label: string;
  op: string;
  baseline: string;
  /** median over the rounds of (op's run - the baseline's run in the same round) */
  medianAddedSeconds: number;
  /** median over the rounds of (op's run / the baseline's run in the same round) */
  ratio: number;
  ratioRange: [number, number];
  maxRatio: number;
  pass: boolean;
}

// The database a part of the run measured: pgbench -i at a scale, or bench/lib/pitr-data.ts's generated data grown
// to a size (it compresses a few times, as production data does; pgbench's about 55:1).
export type Dataset = { dataset: 'pgbench'; scale: number } | { dataset: 'realistic'; sizeMb: number };

// The dataset in a few words, for headings and messages: "scale 50", "realistic 300 MB".
export function datasetName(d: Dataset): string {
  return d.dataset === 'pgbench' ? `scale ${d.scale}` : `realistic ${d.sizeMb} MB`;
}

export type ScaleResult = Dataset & {
  databaseBytes: number;
  dumpBytes: number;
  samples: Sample[];
  rows: Row[];
  costs: CostRow[];
  /** the highest peak RSS of any pgops run at this scale */
  peakRssMb: number;
  rssPass: boolean;
};

export interface Report {
  benchmark: 'backup';
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; node: string; pgDump: string; loadAverage: { start: number[]; end: number[] } };
  /** how bin/pgops.js ran (dist bundle or tsx) and the commit of lib/ */
  pgops: { entry: string; commit: string };
  /** scales for the pgbench dataset, sizeMb for the realistic one */
  options: { dataset: Dataset['dataset']; scales?: number[]; sizeMb?: number; rounds: number; fingerprint: string };
  targets: { maxRatio: number; maxEncryptionRatio: number; maxRssMb: number; maxRssGrowth: number };
  scales: ScaleResult[];
  /** peak RSS at the largest scale / at the smallest, when several scales ran */
  rssGrowth?: { fromScale: number; toScale: number; ratio: number; pass: boolean };
  missed: string[];
}

const MB = 1024 * 1024;

// op's run and baseline's run of each round that has both.
function pairs(samples: readonly Sample[], op: string, baseline: string): [Sample, Sample][] {
  return samples.flatMap((s) => {
    const base = s.op === op ? samples.find((b) => b.op === baseline && b.round === s.round) : undefined;
    return base ? [[s, base] as [Sample, Sample]] : [];
  });
}

// The median and the range of the per-round ratios op / baseline.
function ratioOf(samples: readonly Sample[], op: string, baseline: string): { ratio: number; ratioRange: [number, number] } {
  const ratios = pairs(samples, op, baseline).map(([s, b]) => s.seconds / b.seconds);
  return { ratio: median(ratios), ratioRange: [Math.min(...ratios), Math.max(...ratios)] };
}

// Medians, ratios and pass/fail of each operation from the samples of all rounds.
export function summarise(specs: readonly OpSpec[], samples: readonly Sample[]): Row[] {
  return specs.map((spec) => {
    const own = samples.filter((s) => s.op === spec.id);
    const row: Row = { op: spec.id, label: spec.label, medianSeconds: median(own.map((s) => s.seconds)) };
    if (spec.baseline) {
      Object.assign(row, ratioOf(samples, spec.id, spec.baseline));
      if (spec.maxRatio !== undefined) {
        row.maxRatio = spec.maxRatio;
        row.pass = row.ratio! <= spec.maxRatio;
      }
    }
    const rss = own.flatMap((s) => (s.peakRssKb === undefined ? [] : [s.peakRssKb]));
    if (rss.length) row.peakRssMb = Math.max(...rss) / 1024;
    return row;
  });
}

// What each cost costs: the per-round ratio and the seconds it adds, against its target.
export function summariseCosts(specs: readonly CostSpec[], samples: readonly Sample[]): CostRow[] {
  return specs.map((spec) => {
    const { ratio, ratioRange } = ratioOf(samples, spec.op, spec.baseline);
    const medianAddedSeconds = median(pairs(samples, spec.op, spec.baseline).map(([s, b]) => s.seconds - b.seconds));
    return { ...spec, medianAddedSeconds, ratio, ratioRange, pass: ratio <= spec.maxRatio };
  });
}

const fmtMb = (mb: number) => `${mb.toFixed(0)} MB`;
const fmtBytes = (b: number) => (b >= 1024 * MB ? `${(b / 1024 / MB).toFixed(1)} GB` : `${(b / MB).toFixed(1)} MB`);
const verdict = (pass: boolean | undefined) => (pass === undefined ? '' : pass ? 'ok' : 'MISSED');

function tableOf(result: ScaleResult, maxRssMb: number): string[][] {
  const rows = result.rows.map((r) => [
    r.label,
    r.medianSeconds.toFixed(2),
    r.ratio === undefined ? '(bare)' : r.ratio.toFixed(2),
    r.ratioRange === undefined ? '' : `${r.ratioRange[0].toFixed(2)}-${r.ratioRange[1].toFixed(2)}`,
    r.maxRatio !== undefined ? `<= ${r.maxRatio.toFixed(2)}` : r.ratio !== undefined ? '(info)' : '',
    verdict(r.pass),
    r.peakRssMb === undefined ? '' : fmtMb(r.peakRssMb),
  ]);
  for (const c of result.costs) {
    const range = `${c.ratioRange[0].toFixed(2)}-${c.ratioRange[1].toFixed(2)}`;
    rows.push([c.label, `${c.medianAddedSeconds >= 0 ? '+' : ''}${c.medianAddedSeconds.toFixed(2)}`, c.ratio.toFixed(2), range, `<= ${c.maxRatio.toFixed(2)}`, verdict(c.pass), '']);
  }
  rows.push(['pgops peak RSS, any run', '', '', '', `<= ${maxRssMb} MB`, verdict(result.rssPass), fmtMb(result.peakRssMb)]);
  return rows;
}

// ratio: pgops / the bare tool, or on a cost row (median s then the seconds it adds) the one pgops run / the other
const HEAD = ['operation', 'median s', 'ratio', 'rounds range', 'target', 'result', 'pgops peak RSS'];

// Names the data and how well it compressed (database size / dump size): on data that compresses 55:1 the dump is
// small, and what pgops does per byte of it hardly shows.
function heading(r: Report, s: ScaleResult): string {
  const database = s.dataset === 'pgbench' ? 'pgbench database' : 'generated database (bench/lib/pitr-data.ts)';
  const compression = `database / dump ${(s.databaseBytes / s.dumpBytes).toFixed(1)}:1`;
  return `${datasetName(s)}: ${database} ${fmtBytes(s.databaseBytes)}, custom-format dump ${fmtBytes(s.dumpBytes)}, ${compression}, ${r.options.rounds} rounds, --fingerprint ${r.options.fingerprint}, pgops from the ${r.pgops.entry}${loadRange(s.samples)}`;
}

// The range of the 1-minute load average before the timed commands: on a 2-core machine anything above 2 competes.
export function loadRange(samples: readonly { load1?: number }[]): string {
  const loads = samples.flatMap((s) => (s.load1 === undefined ? [] : [s.load1]));
  return loads.length ? `, load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}` : '';
}

function growthLine(r: Report): string | undefined {
  const g = r.rssGrowth;
  if (!g) return undefined;
  return `pgops peak RSS growth from scale ${g.fromScale} to ${g.toScale}: ${g.ratio.toFixed(2)}x (target <= ${r.targets.maxRssGrowth.toFixed(2)}x) ${verdict(g.pass)}`;
}

// The report as aligned plain text, for the terminal.
export function formatText(r: Report): string {
  const out: string[] = [];
  for (const s of r.scales) {
    const rows = [HEAD, ...tableOf(s, r.targets.maxRssMb)];
    const widths = HEAD.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    out.push('', heading(r, s), '');
    for (const row of rows) out.push(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
  }
  const growth = growthLine(r);
  if (growth) out.push('', growth);
  out.push('', r.missed.length ? `MISSED ${r.missed.length} target(s): ${r.missed.join('; ')}` : 'all targets met', '');
  return out.join('\n');
}

// The report as markdown, for bench/results/backup-latest.md.
export function formatMarkdown(r: Report, jsonFile: string): string {
  const out = [
    '# pgops backup benchmark: latest run',
    '',
    `Run ${r.startedAt} to ${r.finishedAt} on ${r.machine.cpus} CPUs (load average ${r.machine.loadAverage.start.map((l) => l.toFixed(2)).join(', ')} at the start, ${r.machine.loadAverage.end.map((l) => l.toFixed(2)).join(', ')} at the end), node ${r.machine.node}, ${r.machine.pgDump}; pgops ${r.pgops.commit} from the ${r.pgops.entry}. Raw samples: \`${jsonFile}\`.`,
    'Ratios are the median over rounds of pgops / the bare tool in the same round (a cost row: the one pgops run / the other, its median s the seconds it adds); see bench/README.md.',
  ];
  for (const s of r.scales) {
    out.push('', `## ${heading(r, s)}`, '', `| ${HEAD.join(' | ')} |`, `|${HEAD.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const row of tableOf(s, r.targets.maxRssMb)) out.push(`| ${row.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  }
  const growth = growthLine(r);
  if (growth) out.push('', growth);
  out.push('', r.missed.length ? `**MISSED ${r.missed.length} target(s):** ${r.missed.join('; ')}` : 'All targets met.', '');
  return out.join('\n');
}

// Writes backup-<UTC timestamp>.json and backup-latest.md into dir; returns their paths.
export function writeResults(r: Report, dir: string): { json: string; markdown: string } {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = r.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const json = path.join(dir, `backup-${stamp}.json`);
  const markdown = path.join(dir, 'backup-latest.md');
  fs.writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  fs.writeFileSync(markdown, formatMarkdown(r, path.basename(json)));
  return { json, markdown };
}

// The rows whose ratio missed its target, as short phrases: "pgops backup -> file repository 1.31x > 1.10x".
export function missedRatios(rows: readonly { label: string; ratio?: number | null; maxRatio?: number | null; pass?: boolean | null }[], prefix = ''): string[] {
  return rows.filter((r) => r.pass === false).map((r) => `${prefix}${r.label} ${r.ratio!.toFixed(2)}x > ${r.maxRatio!.toFixed(2)}x`);
}
