import { parseArgs } from 'node:util';
import { optionsFor } from '../../options.ts';

// A `wal push` or `wal fetch` command line, parsed into what runTask takes from yargs.
export interface FastInvocation {
  task: 'wal-push' | 'wal-fetch';
  /** option values keyed by flag name, positional values by their names */
  flags: Record<string, unknown>;
  positionals: string[];
}

const COMMANDS = {
  push: { task: 'wal-push', positionals: ['path'] },
  fetch: { task: 'wal-fetch', positionals: ['name', 'destination'] },
} as const;

// Parses `wal push <path> ...` and `wal fetch <name> <destination> ...` with the options lib/options.ts gives those
// tasks, without yargs. Undefined for anything the full CLI must handle and explain: --help, --version, an unknown
// option, a missing or extra argument.
export function parseFastArgs(argv: readonly string[]): FastInvocation | undefined {
  if (argv[0] !== 'wal' || (argv[1] !== 'push' && argv[1] !== 'fetch')) return undefined;
  const spec = COMMANDS[argv[1]];
  const options: Record<string, { type: 'string' | 'boolean'; multiple: boolean; short?: string }> = {};
  for (const def of optionsFor(spec.task)) {
    const boolean = def.type === 'boolean';
    // a string option given twice stays a list, so that resolveOptions reports it as yargs's values would be
    options[def.flag] = { type: boolean ? 'boolean' : 'string', multiple: !boolean, ...(def.alias?.length === 1 ? { short: def.alias } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv.slice(2)], options, strict: true, allowPositionals: true });
  } catch {
    return undefined;
  }
  if (parsed.positionals.length !== spec.positionals.length) return undefined;
  const flags: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(parsed.values)) {
    flags[flag] = Array.isArray(value) && value.length === 1 ? value[0] : value;
  }
  spec.positionals.forEach((name, i) => (flags[name] = parsed.positionals[i]));
  return { task: spec.task, flags, positionals: [...spec.positionals] };
}
