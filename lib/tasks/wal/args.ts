import path from 'node:path';
import { parseArgs } from 'node:util';
import { optionsFor, type TaskName } from '../../options.ts';

// `wal push` and `wal fetch` start once per WAL segment (archive_command, restore_command), so they parse their
// command line here, without yargs (loading it costs tens of milliseconds per segment), with node's own parser over
// the same option table; resolveOptions then converts and validates as for every task. What this parser refuses
// (help, an unknown option, a missing argument) goes to the one full parser (lib/cli/parser.ts), which explains it.

// The two commands, with the positionals lib/tasks/index.ts gives them (importing that registry would put every
// task into dist/wal.cjs; test/unit/tasks/wal/args.test.ts checks the two agree).
const WAL_COMMANDS = {
  push: { task: 'wal-push', positionals: ['path'] },
  fetch: { task: 'wal-fetch', positionals: ['name', 'destination'] },
} as const;

export type WalTask = (typeof WAL_COMMANDS)[keyof typeof WAL_COMMANDS]['task'];

// The wal task a command line names ('wal push ...' or 'wal fetch ...'), else undefined: the one test of it.
export function walCommandOf(argv: readonly string[]): WalTask | undefined {
  return argv[0] === 'wal' && (argv[1] === 'push' || argv[1] === 'fetch') ? WAL_COMMANDS[argv[1]].task : undefined;
}

// A parsed `wal push <path>` or `wal fetch <name> <destination>`: flags keyed by flag name as yargs gives them,
// positional values under their names.
export interface WalInvocation {
  task: WalTask;
  flags: Record<string, unknown>;
  positionals: string[];
}

// Parses a wal push or fetch command line; undefined for anything the full parser must handle and explain.
export function parseWalArgs(argv: readonly string[]): WalInvocation | undefined {
  const task = walCommandOf(argv);
  if (!task) return undefined;
  const { positionals } = WAL_COMMANDS[argv[1] as 'push' | 'fetch'];
  const flags = parseTaskArgs(argv.slice(2), task, positionals);
  return flags && { task, flags, positionals: [...positionals] };
}

// The data directory of a wal fetch command line, for restore_command's exit code when the command line itself was
// refused: --pgdata, else PGOPS_PGDATA or PGDATA, else the current directory (PostgreSQL runs restore_command there).
export function pgdataOf(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  let flag: string | undefined;
  try {
    const { values } = parseArgs({ args: [...argv], options: { pgdata: { type: 'string', multiple: true } }, strict: false, allowPositionals: true });
    const given = values.pgdata;
    flag = Array.isArray(given) ? String(given.at(-1)) : undefined;
  } catch {
    flag = undefined;
  }
  return path.resolve(flag || env.PGOPS_PGDATA || env.PGDATA || '.');
}

type ParseOptions = Record<string, { type: 'string' | 'boolean'; multiple: boolean; short?: string }>;

// The options and positionals after the task's words, as yargs would give them (an option given twice stays two
// values, which resolveOptions refuses as it refuses yargs's); undefined for what must go to the full parser.
function parseTaskArgs(args: readonly string[], task: TaskName, positionals: readonly string[]): Record<string, unknown> | undefined {
  const options: ParseOptions = {};
  const canonical = new Map<string, string>();
  const lists = new Set<string>();
  for (const def of optionsFor(task)) {
    const boolean = def.type === 'boolean';
    options[def.flag] = { type: boolean ? 'boolean' : 'string', multiple: !boolean, ...(def.alias?.length === 1 ? { short: def.alias } : {}) };
    canonical.set(def.flag, def.flag);
    // a long alias is an option of its own here, merged below as yargs merges it
    if (def.alias && def.alias.length > 1) {
      options[def.alias] = { type: options[def.flag].type, multiple: !boolean };
      canonical.set(def.alias, def.flag);
    }
    if (def.type === 'list') lists.add(def.flag);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch {
    return undefined;
  }
  if (parsed.positionals.length !== positionals.length) return undefined;
  const flags: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    const flag = canonical.get(name)!;
    if (typeof value === 'boolean') flags[flag] = value;
    else flags[flag] = [...((flags[flag] as string[] | undefined) ?? []), ...(value as string[])];
  }
  for (const [flag, value] of Object.entries(flags)) if (Array.isArray(value) && value.length === 1 && !lists.has(flag)) flags[flag] = value[0];
  positionals.forEach((name, i) => (flags[name] = parsed.positionals[i]));
  return flags;
}
