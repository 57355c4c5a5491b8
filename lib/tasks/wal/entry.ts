import { dieOf, exitWith } from '../../cli/exit.ts';
import type { RunIO } from '../../cli/run-task.ts';
import { runTask } from '../../cli/run-task.ts';
import { fdWriter } from '../../fd-writer.ts';
import { installWarningHandler } from '../../log.ts';
import { parseWalArgs, pgdataOf } from './args.ts';
import { walFetch } from './fetch.ts';
import { walPush } from './push.ts';
import { restoreCommandExit } from './recovery-mode.ts';

// The entry of `pgops wal push` and `pgops wal fetch`, which start once per WAL segment: their own small parser
// (args.ts), then the same runTask and handler as every task. lib/cli/dispatch.ts calls it for every wal push or
// fetch command line (bin, scripts, tests); bin/pgops.js runs it first from its own bundle, dist/wal.cjs (main).
// Undefined for a command line the full parser must explain (help, an unknown option, a missing argument).
//
// PostgreSQL must tell a signal from a failure: restore_command killed by a signal stops recovery, while an exit code
// below 126 means "not available" and may end it. So a run interrupted by SIGINT/SIGTERM cleans up (runTask aborts the
// handler, which removes its temp files) and then dies of that same signal instead of exiting 2.
export async function runWalCommand(argv: readonly string[], io: RunIO = {}): Promise<number | undefined> {
  const inv = parseWalArgs(argv);
  if (!inv) return undefined;
  let received: NodeJS.Signals | undefined;
  const note = (sig: NodeJS.Signals) => {
    received ??= sig;
    // the handler stops at its next step and cleans up; should it not, the signal ends the process anyway
    setTimeout(() => dieOf(sig), CLEANUP_GRACE_MS).unref();
  };
  process.on('SIGINT', note);
  process.on('SIGTERM', note);
  const handler = inv.task === 'wal-push' ? walPush : walFetch;
  const stderr = io.stderr ?? fdWriter(2);
  let code: number = await runTask(inv.task, async () => handler, inv.flags, { ...io, stdout: io.stdout ?? fdWriter(1), stderr }, inv.positionals);
  if (inv.task === 'wal-fetch') code = restoreCommandExit(code, pgdataOf(argv, io.env), stderr);
  process.off('SIGINT', note);
  process.off('SIGTERM', note);
  if (received) {
    dieOf(received);
    // the default action ends the process; never hand an exit code back
    await new Promise(() => {});
  }
  return code;
}

// How long an interrupted push or fetch may take to remove its temp files before the signal ends it regardless.
const CLEANUP_GRACE_MS = 5_000;

// dist/wal.cjs's entry, for bin/pgops.js: runs the command line and exits; false (nothing done) when the full
// parser must handle it.
export async function main(argv: readonly string[]): Promise<boolean> {
  installWarningHandler(fdWriter(2));
  const code = await runWalCommand(argv);
  if (code === undefined) return false;
  exitWith(code, false);
  return true;
}
