// What each drill found, kept as a JSON file per page (tmp/runbook-drills/ unless RUNBOOK_DRILL_RESULTS names
// another folder), and the table made of them for the README and a workflow's job summary.
import fs from 'node:fs';
import path from 'node:path';
import type { FollowResult } from './follow.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface DrillRecord {
  page: string;
  /** the failure the drill caused */
  failure: string;
  stepsRun: number;
  judgementSteps: number;
  /** steps not run: away from the host, or examples */
  notRun: number;
  recoverMs: number;
  /** a drill records only when it passed: one that failed says why in the test's output */
  result: 'passed';
  at: string;
}

export function resultsDir(): string {
  return process.env.RUNBOOK_DRILL_RESULTS ?? path.join(ROOT, 'tmp/runbook-drills');
}

// The record of a followed page.
export function drillRecord(failure: string, r: FollowResult): DrillRecord {
  return {
    page: r.page,
    failure,
    stepsRun: r.runs.filter((x) => x.ran !== undefined).length,
    judgementSteps: r.runs.filter((x) => x.kind === 'judgement').length,
    notRun: r.runs.filter((x) => x.kind === 'outside' || x.kind === 'example').length,
    recoverMs: r.recoverMs,
    result: 'passed',
    at: new Date().toISOString(),
  };
}

export function writeRecord(rec: DrillRecord): void {
  fs.mkdirSync(resultsDir(), { recursive: true });
  fs.writeFileSync(path.join(resultsDir(), rec.page.replace(/\.md$/, '.json')), JSON.stringify(rec, null, 2) + '\n');
}

export function readRecords(dir = resultsDir()): DrillRecord[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as DrillRecord);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

// The table: one row per scenario page, the drilled ones from their records, the others with why they are not.
export function resultTable(records: DrillRecord[], pages: { page: string; notDrilled?: string }[]): string {
  const rows = pages.map(({ page, notDrilled }) => {
    const r = records.find((x) => x.page === page);
    const link = `[${page}](runbooks/${page})`;
    if (notDrilled) return `| ${link} | not drilled: ${notDrilled} | | | | |`;
    if (!r) return `| ${link} | (no result from this run) | | | | failed or not run |`;
    return `| ${link} | ${r.failure} | ${r.stepsRun} | ${r.judgementSteps} | ${seconds(r.recoverMs)} | ${r.result} |`;
  });
  return ['| page | failure caused | steps run | judgement steps | time to recover | result |', '| --- | --- | ---: | ---: | ---: | --- |', ...rows].join('\n');
}
