// Follows a scenario page as an engineer would: its `run` steps in order, each exactly as written once the host's
// paths are mapped (host.ts) and its placeholders bound; its judgement steps as the drill decided; then its verify
// steps. A step that exits non-zero stops the drill with the step, its text and its output.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { onHost, type DrillHost } from './host.ts';
import { parseDrillPage, placeholders, type Step } from './page.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
export const PGOPS_BIN = path.join(ROOT, 'bin/pgops.js');

/** what an engineer decided at a judgement step: run it as written, skip it (and why), or do something else */
export type Judgement = { run: true; why: string } | { skip: string } | { instead: string; do: (ctx: FollowContext) => Promise<void> | void };

/** a placeholder's value: given, or read from what the steps before printed (as the engineer reads it) */
export type Binding = string | ((ctx: FollowContext) => string);

export interface FollowOptions {
  /** the page's path under runbooks/ (e.g. "wal-archiving-failing.md") */
  page: string;
  /** the page's text, when it is not read from runbooks/<page> (the runner's own tests) */
  text?: string;
  host: DrillHost;
  binds?: Record<string, Binding>;
  /** the decision at each judgement step, by step id */
  judgements?: Record<string, Judgement>;
  /** the exit codes each diagnose step may have, by step id (it shows the cause, so it may fail while that lasts) */
  exits?: Record<string, number[]>;
  /** the names an engineer types when pgops asks before a destructive step; any other question is answered "no" */
  confirm?: string[];
  /** the environment the steps run in, besides PATH, HOME and the libpq defaults (S3 credentials) */
  env?: Record<string, string>;
  /** the folder the steps run in (a scratch folder) */
  cwd: string;
}

export interface StepRun {
  id: string;
  kind: Step['kind'];
  /** what ran, after the host's paths and the placeholders */
  ran?: string;
  decided?: string;
  output: string;
  exitCode: number;
  ms: number;
}

export interface FollowContext {
  /** the output of each step that ran, by id */
  outputs: Map<string, string>;
  /** the output of the step that ran last */
  last: string;
}

export interface FollowResult {
  page: string;
  runs: StepRun[];
  /** from the first step to the end of the last verify step */
  recoverMs: number;
  /** the output of the verify steps */
  verifyOutput: string;
}

export class StepFailed extends Error {}

// Runs one shell block in bash (set -e, pipefail): pgops is the checkout's bin, `sudo -u <user>` runs the command as
// this process's user (the drill's clusters' superuser), libpq's defaults point at <host>. A block with --execute runs
// on a terminal (script(1)), where pgops asks before it destroys anything; the answer is typed as confirm allows.
export async function runBlock(code: string, o: { cwd: string; env: Record<string, string>; confirm: string[] }): Promise<{ output: string; exitCode: number; asked: string[] }> {
  const prelude = [
    'set -e -o pipefail',
    `pgops() { ${process.execPath} ${PGOPS_BIN} "$@"; }`,
    // sudo -u <user>: as that user when we are root (runuser), else as ourselves; `sudo ... pgops` runs the bin
    `sudo() { local u=; while [ "\${1#-}" != "$1" ]; do case "$1" in -u) u=$2; shift 2;; -g) shift 2;; *) shift;; esac; done; if [ "$1" = pgops ]; then shift; set -- ${process.execPath} ${PGOPS_BIN} "$@"; fi; if [ -n "$u" ] && [ "$u" != root ] && [ "$(id -u)" = 0 ]; then runuser -u "$u" -- "$@"; else "$@"; fi; }`,
    'export -f pgops sudo',
  ].join('\n');
  const script = path.join(o.cwd, `.step-${process.pid}-${Date.now()}.sh`);
  fs.writeFileSync(script, `${prelude}\n${code}\n`);
  const onTerminal = /--execute\b/.test(code);
  const argv = onTerminal ? ['script', ['-qefc', `bash ${script}`, '/dev/null']] as const : ['bash', [script]] as const;
  const child = spawn(argv[0], [...argv[1]], { cwd: o.cwd, env: { NO_COLOR: '1', ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const asked: string[] = [];
  const seen = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (!onTerminal) return;
    const questions = [...output.replace(/\r/g, '').matchAll(/Type (\S+) to go on \(anything else stops\): /g)];
    for (const q of questions.slice(asked.length)) {
      asked.push(q[1]);
      child.stdin.write(`${o.confirm.includes(q[1]) ? q[1] : 'no'}\r`);
    }
  };
  child.stdout.on('data', seen);
  child.stderr.on('data', seen);
  if (!onTerminal) child.stdin.end();
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  if (onTerminal) child.stdin.destroy();
  fs.rmSync(script, { force: true });
  return { output: output.replace(/\r\n/g, '\n'), exitCode, asked };
}

// The environment of a page's steps: the server programs first on PATH, libpq's defaults at <host> as root, and what
// the drill adds (S3 credentials).
export function stepEnvironment(host: DrillHost, env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${host.pgBin}:${process.env.PATH}`,
    HOME: process.env.HOME ?? '/root',
    PGHOST: '127.0.0.1',
    PGPORT: String(host.host.port),
    PGUSER: 'root',
    PGDATABASE: 'postgres',
    ...env,
  };
}

/** what every drill binds: the server's address and the roles the pages name, all the clusters' superuser */
export const DEFAULT_BINDS: Readonly<Record<string, Binding>> = { host: '127.0.0.1', superuser: 'root', user: 'root', monitor: 'root' };

// Binds a block's placeholders; a placeholder with no binding stops the drill (the page would leave the engineer
// guessing too).
export function bind(code: string, binds: Record<string, Binding>, ctx: FollowContext, id: string): string {
  let out = code;
  for (const name of placeholders(code)) {
    const b = binds[name];
    if (b === undefined) throw new StepFailed(`step ${id}: the placeholder <${name}> has no value in this drill:\n${code}`);
    out = out.replaceAll(`<${name}>`, typeof b === 'function' ? b(ctx) : b);
  }
  return out;
}

// The page's steps followed; throws StepFailed naming the step when one fails or is left undecided.
export async function followPage(o: FollowOptions): Promise<FollowResult> {
  const text = o.text ?? fs.readFileSync(path.join(ROOT, 'runbooks', o.page), 'utf8');
  const { steps } = parseDrillPage(text);
  const judgements = o.judgements ?? {};
  const exits = o.exits ?? {};
  for (const s of steps.filter((x) => x.kind === 'diagnose')) {
    if (!exits[s.id]) throw new StepFailed(`${o.page}: step ${s.id} (line ${s.line}) is a diagnose step and the drill has not said which exit codes it expects of it`);
  }
  for (const id of Object.keys(exits)) {
    if (!steps.some((x) => x.id === id && x.kind === 'diagnose')) throw new StepFailed(`${o.page}: the drill expects exit codes of step ${id}, which is no diagnose step of the page`);
  }
  for (const id of Object.keys(judgements)) {
    const s = steps.find((x) => x.id === id);
    if (!s || s.kind !== 'judgement') throw new StepFailed(`${o.page}: the drill decides step ${id}, which is no judgement step of the page (its judgement steps: ${steps.filter((x) => x.kind === 'judgement').map((x) => x.id).join(', ') || 'none'})`);
  }
  const env = stepEnvironment(o.host, o.env);
  const binds: Record<string, Binding> = { ...DEFAULT_BINDS, ...o.binds };
  const ctx: FollowContext = { outputs: new Map(), last: '' };
  const runs: StepRun[] = [];
  const started = Date.now();
  const ordered = [...steps.filter((s) => s.kind !== 'verify'), ...steps.filter((s) => s.kind === 'verify')];
  let verifyOutput = '';
  for (const s of ordered) {
    if (s.kind === 'outside' || s.kind === 'example') {
      runs.push({ id: s.id, kind: s.kind, output: '', exitCode: 0, ms: 0 });
      continue;
    }
    let decided: string | undefined;
    if (s.kind === 'judgement') {
      const j = judgements[s.id];
      if (!j) throw new StepFailed(`${o.page}: step ${s.id} (line ${s.line}) is a judgement step and the drill has not said what the engineer decides there`);
      if ('skip' in j) {
        runs.push({ id: s.id, kind: s.kind, decided: `skipped: ${j.skip}`, output: '', exitCode: 0, ms: 0 });
        continue;
      }
      if ('instead' in j) {
        const t = Date.now();
        await j.do(ctx);
        runs.push({ id: s.id, kind: s.kind, decided: `instead: ${j.instead}`, output: '', exitCode: 0, ms: Date.now() - t });
        continue;
      }
      decided = `run: ${j.why}`;
    }
    const ran = bind(onHost(s.code, o.host), binds, ctx, s.id);
    const t = Date.now();
    const r = await runBlock(ran, { cwd: o.cwd, env, confirm: o.confirm ?? [] });
    runs.push({ id: s.id, kind: s.kind, ran, decided, output: r.output, exitCode: r.exitCode, ms: Date.now() - t });
    ctx.outputs.set(s.id, r.output);
    ctx.last = r.output;
    if (s.kind === 'verify') verifyOutput += r.output;
    const allowed = s.kind === 'diagnose' ? exits[s.id] : [0];
    if (!allowed.includes(r.exitCode)) {
      throw new StepFailed(`${o.page}: step ${s.id} (${s.kind}, line ${s.line}) exited ${r.exitCode} (the drill expects ${allowed.join(' or ')})${r.asked.length ? ` (pgops asked to type ${r.asked.join(', ')})` : ''}:\n${ran}\n--- output:\n${r.output}`);
    }
  }
  return { page: o.page, runs, recoverMs: Date.now() - started, verifyOutput };
}
