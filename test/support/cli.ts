import { Writable } from 'node:stream';
import { execa, type ResultPromise } from 'execa';
import { main } from '../../lib/cli.ts';

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

// Runs `pgops ...args` in this process with its own stdout/stderr and an environment of only `env`.
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, now?: () => Date): Promise<CliResult> {
  const out = sink();
  const err = sink();
  const exitCode = await main(args, { stdout: out.stream, stderr: err.stream, env: { PATH: process.env.PATH, ...env }, now });
  return { exitCode, stdout: out.text(), stderr: err.text() };
}

// Starts `pgops ...args` as its own process (for signals, /proc and exit codes as cron sees them).
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ResultPromise<{ reject: false; all: true }> {
  return execa('node', [BIN, ...args], { reject: false, all: true, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, extendEnv: false });
}
