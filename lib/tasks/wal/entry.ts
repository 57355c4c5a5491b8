import { runTask } from '../../run.ts';
import { parseFastArgs } from './args.ts';
import { walFetch } from './fetch.ts';
import { walPush } from './push.ts';

// The start-up path of `pgops wal push` and `pgops wal fetch` (lib/tasks/wal/launch.mjs loads it from the prebuilt
// bundle): no yargs, no tsx, the same option resolution and handler as the full CLI. Returns undefined for command
// lines the full CLI must handle (help, an unknown option, a missing argument).
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
  const code = await runTask(inv.task, async () => handler, inv.flags, {}, inv.positionals);
  process.off('SIGINT', note);
  process.off('SIGTERM', note);
  if (received) {
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
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
