import yargs, { type Argv } from 'yargs';
import { ExitCode, exitCodeNames, type ExitCodeValue } from './errors.ts';
import { positionalNames } from './fast-args.ts';
import { optionsFor, type OptionDef, type TaskName } from './options.ts';
import { runTask, type RunIO } from './run.ts';
import { TASKS, type TaskEntry } from './tasks/index.ts';
import { VERSION } from './version.ts';

function yargsOption(def: OptionDef) {
  const dflt = def.default !== undefined ? ` [default: ${def.default}]` : '';
  const env = def.env?.length ? ` [env: ${def.env.join(', ')}]` : '';
  return {
    describe: `${def.describe}${dflt}${env}`,
    type: def.type === 'boolean' ? ('boolean' as const) : def.type === 'list' ? ('array' as const) : ('string' as const),
    choices: def.choices ? [...def.choices] : undefined,
    alias: def.alias,
    requiresArg: def.type !== 'boolean',
    string: def.type === 'list' ? true : undefined,
  };
}

function addTaskOptions(y: Argv, task: TaskName): Argv {
  for (const def of optionsFor(task)) y.option(def.flag, yargsOption(def));
  return y;
}

const exitCodeEpilogue = 'Exit codes: ' + Object.entries(exitCodeNames).map(([c, n]) => `${c} ${n}`).join(', ');

// The pgops command-line parser, without running anything (runbook tests parse commands with it).
export function buildParser(argv: string[], onTask: (entry: TaskEntry, flags: Record<string, unknown>) => void): Argv {
  const y = yargs(argv)
    .scriptName('pgops')
    .parserConfiguration({ 'boolean-negation': false, 'camel-case-expansion': false, 'strip-aliased': true })
    .strict()
    .version(VERSION)
    .help()
    .epilogue(exitCodeEpilogue)
    .demandCommand(1, 'name a task: pgops <task> --help')
    .fail((msg, err) => {
      throw err ?? new CliUsageError(msg);
    });
  const groups = new Map<string, TaskEntry[]>();
  for (const entry of TASKS) {
    const words = entry.command.split(' ');
    if (words.length === 1) {
      y.command(`${entry.command}${entry.positional ? ' ' + entry.positional : ''}`, entry.describe, (b) => {
        addTaskOptions(b, entry.name);
        for (const [cmd, what] of entry.examples) b.example(cmd, what);
        return b;
      }, (flags) => onTask(entry, flags as Record<string, unknown>));
    } else {
      groups.set(words[0], [...(groups.get(words[0]) ?? []), entry]);
    }
  }
  for (const [group, entries] of groups) {
    y.command(`${group} <command>`, `${group}: ${entries.map((e) => e.command.split(' ')[1]).join(', ')}`, (b) => {
      for (const entry of entries) {
        b.command(`${entry.command.split(' ')[1]}${entry.positional ? ' ' + entry.positional : ''}`, entry.describe, (c) => {
          addTaskOptions(c, entry.name);
          for (const [cmd, what] of entry.examples) c.example(cmd, what);
          return c;
        }, (flags) => onTask(entry, flags as Record<string, unknown>));
      }
      return b.demandCommand(1);
    });
  }
  return y;
}

export class CliUsageError extends Error {}

// The pgops bin: parses argv, runs the task, returns the exit code.
export async function main(argv: string[], io: RunIO = {}): Promise<ExitCodeValue> {
  let chosen: { entry: TaskEntry; flags: Record<string, unknown> } | undefined;
  const stderr = io.stderr ?? process.stderr;
  try {
    await buildParser(argv, (entry, flags) => {
      chosen = { entry, flags };
    }).parseAsync();
  } catch (err) {
    stderr.write(`pgops: ${(err as Error).message}\nHINT: see pgops --help, or pgops <task> --help\n`);
    return ExitCode.UNKNOWN;
  }
  if (!chosen) return ExitCode.OK; // --help or --version
  return runTask(chosen.entry.name, chosen.entry.load, chosen.flags, io, positionalNames(chosen.entry.positional));
}
