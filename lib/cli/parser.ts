import yargs, { type Argv } from 'yargs';
import { exitCodeNames } from '../errors.ts';
import { optionsFor, type OptionDef } from '../options.ts';
import { TASKS, type TaskEntry } from '../tasks/index.ts';
import { VERSION } from '../version.ts';
import { optionsHelp, wrap } from './help.ts';
import { usageProblem } from './usage-hint.ts';

// The one parser of pgops command lines: yargs, with every task's options from lib/options.ts's table. It parses;
// lib/options.ts's resolveOptions converts and validates (types, ranges, choices), so a value from the environment
// or a config file is checked by the same code as a flag.
function yargsOption(def: OptionDef) {
  return {
    type: def.type === 'boolean' ? ('boolean' as const) : def.type === 'list' ? ('array' as const) : ('string' as const),
    alias: def.alias,
    requiresArg: def.type !== 'boolean',
    string: def.type === 'list' ? true : undefined,
    // help shows the table's own rendering (lib/cli/help.ts): placeholders, types, defaults, variables
    hidden: true,
  };
}

const exitCodeEpilogue = 'Exit codes: ' + Object.entries(exitCodeNames).map(([c, n]) => `${c} ${n}`).join(', ');

// One task's command: its options, its help (description, then the options from the table), its examples.
function taskCommand(entry: TaskEntry, onTask: (entry: TaskEntry, flags: Record<string, unknown>) => void) {
  const word = entry.command.split(' ').at(-1)!;
  return [
    `${word}${entry.positional ? ' ' + entry.positional : ''}`,
    entry.describe,
    (b: Argv) => {
      const defs = optionsFor(entry.name);
      for (const def of defs) b.option(def.flag, yargsOption(def));
      const width = Math.min(process.stdout.columns || 100, 120);
      b.usage(`pgops ${entry.command}${entry.positional ? ' ' + entry.positional : ''} [options]\n\n${wrap(entry.describe, width).join('\n')}\n\nTask options:\n${optionsHelp(defs, width)}`);
      for (const [cmd, what] of entry.examples) b.example(cmd, what);
      return b.epilogue(exitCodeEpilogue);
    },
    (flags: Record<string, unknown>) => onTask(entry, flags),
  ] as const;
}

// The pgops command-line parser, without running anything: onTask receives the chosen task and its flags (runbook
// tests parse commands with it; lib/cli/dispatch.ts runs them).
export function buildParser(argv: readonly string[], onTask: (entry: TaskEntry, flags: Record<string, unknown>) => void): Argv {
  const y = yargs([...argv])
    .scriptName('pgops')
    // the task options come wrapped already (help.ts); yargs would wrap them again and lose their indentation
    .wrap(null)
    // help and version return like any command: lib/cli/exit.ts is the one place that ends the process
    .exitProcess(false)
    .parserConfiguration({ 'boolean-negation': false, 'camel-case-expansion': false, 'strip-aliased': true })
    .strict()
    // -V and -h as most tools have them (-v is left alone: it means verbose to some, version to others)
    .version(VERSION)
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .epilogue(exitCodeEpilogue)
    .demandCommand(1, 'name a task: pgops <task> --help')
    .fail((msg, err) => {
      throw err ?? new CliUsageError(msg);
    });
  const groups = new Map<string, TaskEntry[]>();
  for (const entry of TASKS) {
    const words = entry.command.split(' ');
    if (words.length === 1) y.command(...taskCommand(entry, onTask));
    else groups.set(words[0], [...(groups.get(words[0]) ?? []), entry]);
  }
  for (const [group, entries] of groups) {
    y.command(`${group} <command>`, `${group}: ${entries.map((e) => e.command.split(' ')[1]).join(', ')}`, (b) => {
      for (const entry of entries) b.command(...taskCommand(entry, onTask));
      return b.demandCommand(1);
    });
  }
  return y;
}

export class CliUsageError extends Error {}

// The names of a task's positionals from its yargs-style spec: "<name> <destination>" gives name and destination.
export function positionalNames(spec = ''): string[] {
  return spec.split(' ').filter(Boolean).map((w) => w.replace(/[<>[\]]/g, ''));
}

export type ParsedCommandLine = { entry: TaskEntry; flags: Record<string, unknown> } | { done: true } | { error: string; hint?: string };

// Parses a command line: the task and its flags, or done (help or version was printed), or the usage error (an
// unknown command or option said in pgops's words, with the nearest ones; anything else in yargs's).
export async function parseCommandLine(argv: readonly string[]): Promise<ParsedCommandLine> {
  let chosen: { entry: TaskEntry; flags: Record<string, unknown> } | undefined;
  try {
    await buildParser(argv, (entry, flags) => (chosen = { entry, flags })).parseAsync();
  } catch (err) {
    const problem = usageProblem(argv);
    return problem ? { error: problem.message, hint: problem.hint } : { error: (err as Error).message };
  }
  return chosen ?? { done: true };
}

