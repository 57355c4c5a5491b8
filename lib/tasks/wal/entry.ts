import { fdWriter } from '../../fd-writer.ts';
import { installWarningHandler } from '../../log.ts';
import { runTask } from '../../run.ts';
import { parseFastArgs } from './args.ts';
import { walFetch } from './fetch.ts';
import { walPush } from './push.ts';
import { dataDirOfArgv, restoreCommandExit } from './recovery-mode.ts';

// The start-up path of `pgops wal push` and `pgops wal fetch`: no yargs, no tsx, the same option resolution and
// handler as the full CLI. Returns undefined for command lines the full CLI must handle (help, an unknown option, a
// missing argument). bin/pgops.js runs it from its own bundle, dist/wal.cjs (runFast); lib/main.ts from the sources.
//
// PostgreSQL must tell a signal from a failure: restore_command killed by a signal stops recovery, while an exit code
// below 126 means "not available" and may end it. So a run interrupted by SIGINT/SIGTERM cleans up (runTask aborts the
// handler, which removes its temp files) and then dies of that same signal instead of exiting 2.
export async function runWal(argv: readonly string[]): Promise<number | undefined> {
  const inv = parseFastArgs(argv);
  if (!inv) return undefined;
  let received: NodeJS.Signals | undefined;
  const note = (sig: NodeJS.Signals) => {
    received ??= sig;
    // the handler stops at its next step and cleans up; should it not, the signal ends the process anyway
    setTimeout(() => die(sig), CLEANUP_GRACE_MS).unref();
  };
  process.on('SIGINT', note);
  process.on('SIGTERM', note);
  const handler = inv.task === 'wal-push' ? walPush : walFetch;
  const stderr = fdWriter(2);
  let code: number = await runTask(inv.task, async () => handler, inv.flags, { stdout: fdWriter(1), stderr }, inv.positionals);
  if (inv.task === 'wal-fetch') code = restoreCommandExit(code, dataDirOfArgv(argv), stderr);
  process.off('SIGINT', note);
  process.off('SIGTERM', note);
  if (received) {
    die(received);
    // the default action ends the process; never hand an exit code back
    await new Promise(() => {});
  }
  return code;
}

// How long an interrupted push or fetch may take to remove its temp files before the signal ends it regardless.
const CLEANUP_GRACE_MS = 5_000;

// Ends the process by the signal's default action, as if no handler had caught it.
function die(sig: NodeJS.Signals): void {
  process.removeAllListeners(sig);
  process.kill(process.pid, sig);
}

// dist/wal.cjs's entry, for bin/pgops.js: runs the command line and exits, as lib/main.ts does (output is written
// synchronously: nothing waits to be flushed); false (nothing done) when the full CLI must handle it.
export async function runFast(argv: readonly string[]): Promise<boolean> {
  installWarningHandler(fdWriter(2));
  const code = await runWal(argv);
  if (code === undefined) return false;
  process.exit(code);
}
