import { Writable } from 'node:stream';
import { execa, type ResultPromise } from 'execa';
import { dispatch } from '../../lib/cli/dispatch.ts';
import type { RunIO } from '../../lib/cli/run-task.ts';
import { JSON_ENVELOPE_VERSION, type JsonEnvelope } from '../../lib/cli/json-envelope.ts';

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = `${ROOT}bin/pgops.js`;

function sink(): { stream: Writable & { isTTY: boolean }; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  }) as Writable & { isTTY: boolean };
  stream.isTTY = false;
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

// Runs `pgops ...args` in this process through the one dispatch the bin uses, with its own stdout/stderr and an environment of only `env`.
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, now?: () => Date, io: Pick<RunIO, 'terminal'> = {}): Promise<CliResult> {
  const out = sink();
  const err = sink();
  const exitCode = await dispatch(args, { stdout: out.stream, stderr: err.stream, env: { PATH: process.env.PATH, ...env }, now, ...io });
  return { exitCode, stdout: out.text(), stderr: err.text() };
}

// Starts `pgops ...args` as its own process (for signals, /proc and exit codes as cron sees them).
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ResultPromise<{ reject: false; all: true }> {
  return execa('node', [BIN, ...args], { reject: false, all: true, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, extendEnv: false });
}

// The --json envelope a run printed on stdout, checked for its shape (version 1, a task, ok as exitCode 0).
export function jsonEnvelope(stdout: string): JsonEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new Error(`stdout is not JSON: ${stdout.slice(0, 500)}`);
  }
  const e = parsed as JsonEnvelope;
  if (typeof e !== 'object' || e === null || e.version !== JSON_ENVELOPE_VERSION || typeof e.task !== 'string' || typeof e.exitCode !== 'number' || e.ok !== (e.exitCode === 0)) {
    throw new Error(`stdout is not a version ${JSON_ENVELOPE_VERSION} --json envelope: ${stdout.slice(0, 500)}`);
  }
  return e;
}

// The task's result data (an object) from a run's --json envelope; throws with the error when the run failed with one.
// Typed any by default, as JSON.parse is: tests read the fields they assert on.
export function jsonData<T = any>(stdout: string): T {
  const e = jsonEnvelope(stdout);
  if (typeof e.data !== 'object' || e.data === null) throw new Error(`the --json envelope has no result data (exit ${e.exitCode}: ${e.error ?? 'no error'}${e.hint ? `; HINT: ${e.hint}` : ''})`);
  return e.data as T;
}
