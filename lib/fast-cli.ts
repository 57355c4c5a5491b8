import type { ExitCodeValue } from './errors.ts';
import { fixedPositionals, parseTaskArgs, positionalNames } from './fast-args.ts';
import { runTask } from './run.ts';
import { TASKS } from './tasks/index.ts';

// Runs a task's command line without yargs when lib/fast-args.ts can parse it (a cron job's `pgops backup --target
// main`); undefined when the full CLI must: help, version, anything to explain. Same options, same runTask.
export async function runFastTask(argv: readonly string[]): Promise<ExitCodeValue | undefined> {
  for (const entry of TASKS) {
    const words = entry.command.split(' ');
    if (!words.every((w, i) => argv[i] === w)) continue;
    if (!fixedPositionals(entry.positional)) return undefined;
    const names = positionalNames(entry.positional);
    const flags = parseTaskArgs(argv.slice(words.length), entry.name, names);
    return flags ? runTask(entry.name, entry.load, flags, {}, names) : undefined;
  }
  return undefined;
}
