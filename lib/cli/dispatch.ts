import { ExitCode } from '../errors.ts';
import { walCommandOf, pgdataOf } from '../tasks/wal/args.ts';
import { parseCommandLine, positionalNames } from './parser.ts';
import { runTask, type RunIO } from './run-task.ts';

// The one front door: a pgops command line to its exit code, for the bin, scripts/<task>.ts and the tests alike.
// `wal push` and `wal fetch` go through their own entry first (lib/tasks/wal/entry.ts: it starts once per WAL
// segment and skips yargs); every other command line, and whatever that entry cannot parse, through the one parser
// (lib/cli/parser.ts) into runTask. Nothing here exits the process (lib/cli/exit.ts does, at the top).
export async function dispatch(argv: readonly string[], io: RunIO = {}): Promise<number> {
  const wal = walCommandOf(argv);
  if (wal) {
    const code = await (await import('../tasks/wal/entry.ts')).runWalCommand(argv, io);
    if (code !== undefined) return code;
  }
  const parsed = await parseCommandLine(argv);
  let code: number;
  if ('error' in parsed) {
    (io.stderr ?? process.stderr).write(`pgops: ${parsed.error}\nHINT: ${parsed.hint ?? 'see pgops --help, or pgops <task> --help'}\n`);
    code = ExitCode.UNKNOWN;
  } else if ('done' in parsed) {
    code = ExitCode.OK; // --help or --version
  } else {
    code = await runTask(parsed.entry.name, parsed.entry.load, parsed.flags, io, positionalNames(parsed.entry.positional));
  }
  // a wal fetch command line only the full parser could read (and refused): PostgreSQL must still stop the recovery
  if (wal === 'wal-fetch') {
    const { restoreCommandExit } = await import('../tasks/wal/recovery-mode.ts');
    code = restoreCommandExit(code, pgdataOf(argv, io.env), io.stderr ?? process.stderr);
  }
  return code;
}
