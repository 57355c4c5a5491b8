import { parseArgs } from 'node:util';
import { optionsFor, type TaskName } from './options.ts';

type ParseOptions = Record<string, { type: 'string' | 'boolean'; multiple: boolean; short?: string }>;

// A task's options and positionals (the command line after the task's words), parsed with the options lib/options.ts
// gives the task into what runTask takes from yargs, without yargs: loading it and the help text it renders for every
// command cost some 50 ms of each start. Undefined for anything the full CLI must handle and explain: --help,
// --version, an unknown option, an option without its value, a missing or extra argument.
export function parseTaskArgs(args: readonly string[], task: TaskName, positionals: readonly string[]): Record<string, unknown> | undefined {
  const options: ParseOptions = {};
  const canonical = new Map<string, string>();
  const lists = new Set<string>();
  for (const def of optionsFor(task)) {
    const boolean = def.type === 'boolean';
    options[def.flag] = { type: boolean ? 'boolean' : 'string', multiple: !boolean, ...(def.alias?.length === 1 ? { short: def.alias } : {}) };
    canonical.set(def.flag, def.flag);
    // a long alias (--table for --partition-table) is an option of its own here, merged below as yargs merges it
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
  // yargs gives a string option given once as a string, a list (type array) always as an array; an option given
  // twice stays an array, which resolveOptions refuses as it refuses yargs's
  for (const [flag, value] of Object.entries(flags)) if (Array.isArray(value) && value.length === 1 && !lists.has(flag)) flags[flag] = value[0];
  positionals.forEach((name, i) => (flags[name] = parsed.positionals[i]));
  return flags;
}

// The names of a task's positionals from its yargs-style spec: "<name> <destination>" gives name and destination.
export function positionalNames(spec = ''): string[] {
  return spec.split(' ').filter(Boolean).map((w) => w.replace(/[<>[\]]/g, ''));
}

// True when every positional of the spec is required and single ("<name>"), the only kind parseTaskArgs handles;
// an optional or variadic one ("[x]", "<x..>") is left to the full CLI.
export function fixedPositionals(spec = ''): boolean {
  return spec.split(' ').filter(Boolean).every((w) => /^<[\w-]+>$/.test(w));
}
