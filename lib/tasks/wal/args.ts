import { parseTaskArgs } from '../../fast-args.ts';

// A `wal push` or `wal fetch` command line, parsed into what runTask takes from yargs.
export interface FastInvocation {
  task: 'wal-push' | 'wal-fetch';
  /** option values keyed by flag name, positional values by their names */
  flags: Record<string, unknown>;
  positionals: string[];
}

// The positionals lib/tasks/index.ts gives these tasks, repeated: importing that registry would put every task into
// dist/wal.cjs (test/unit/wal-args.test.ts compares the two parsers)
const COMMANDS = {
  push: { task: 'wal-push', positionals: ['path'] },
  fetch: { task: 'wal-fetch', positionals: ['name', 'destination'] },
} as const;

// Parses `wal push <path> ...` and `wal fetch <name> <destination> ...` (lib/fast-args.ts); undefined for anything
// the full CLI must handle and explain.
export function parseFastArgs(argv: readonly string[]): FastInvocation | undefined {
  if (argv[0] !== 'wal' || (argv[1] !== 'push' && argv[1] !== 'fetch')) return undefined;
  const spec = COMMANDS[argv[1]];
  const flags = parseTaskArgs(argv.slice(2), spec.task, spec.positionals);
  return flags && { task: spec.task, flags, positionals: [...spec.positionals] };
}
