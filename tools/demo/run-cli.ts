import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { dim, output, showCommand } from './say.ts';

// The checkout's root: the demo runs bin/pgops.js from there, as a reader would after `npm ci`.
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// The environment of the pgops children: the caller's, less what would point them somewhere else
// (PGOPS_* settings, DATABASE_URL, libpq's PG* variables such as PGSSLMODE), with readable logs.
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(PGOPS_|PG[A-Z]|DATABASE_URL$)/.test(k)) continue;
    env[k] = v;
  }
  env.PGOPS_LOG_FORMAT = 'human';
  return env;
}

export class CommandFailed extends Error {
  constructor(readonly command: string, readonly exitCode: number) {
    super(`${command} exited with code ${exitCode}`);
  }
}

// Runs `node bin/pgops.js <args>` the way a runbook shows it: the command first, then its output as it comes.
// Throws CommandFailed on a non-zero exit; cancelled (SIGTERM, then SIGKILL after 5 s) when `signal` aborts.
export async function pgops(args: string[], signal: AbortSignal): Promise<void> {
  const argv = ['node', 'bin/pgops.js', ...args];
  showCommand(argv);
  const child = execa(process.execPath, ['bin/pgops.js', ...args], {
    cwd: ROOT,
    env: childEnv(),
    extendEnv: false,
    buffer: false,
    reject: false,
    cancelSignal: signal,
    forceKillAfterDelay: 5_000,
    timeout: 120_000,
  });
  // logs (stderr) dimmed, the result (stdout) plain, each line as it comes
  const lines = (stream: Readable, paint: (s: string) => string) =>
    new Promise<void>((resolve) => createInterface({ input: stream }).on('line', (l) => output(paint(l))).on('close', resolve));
  const [result] = await Promise.all([child, lines(child.stdout, (l) => l), lines(child.stderr, dim)]);
  if (result.exitCode !== 0) throw new CommandFailed(`pgops ${args.slice(0, args[0] === 'backups' ? 2 : 1).join(' ')}`, result.exitCode ?? 2);
}
