// The one place pgops ends its process: every entry (the bin's two bundles, scripts/) returns here with the exit
// code its dispatch returned. Pools and keep-alive sockets must not keep a cron job alive, so the process exits
// rather than waiting for the event loop to drain.

// Exits with code once stdout is flushed (a pipe may still hold the result); `wal push` and `wal fetch` write stdout
// synchronously (lib/fd-writer.ts) and touch no stream: flushStdout false.
export function exitWith(code: number, flushStdout = true): void {
  if (flushStdout) process.stdout.write('', () => process.exit(code));
  else process.exit(code);
}

// Ends the process by the signal's default action, as if no handler had caught it: restore_command killed by a
// signal must look killed to PostgreSQL (lib/tasks/wal/entry.ts).
export function dieOf(sig: NodeJS.Signals): void {
  process.removeAllListeners(sig);
  process.kill(process.pid, sig);
}
