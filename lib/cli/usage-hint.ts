import { didYouMean } from '../did-you-mean.ts';
import { OPTION_DEFS, optionsFor, type OptionDef } from '../options.ts';
import { TASKS, type TaskEntry } from '../tasks/index.ts';

// What a command line the parser refused got wrong, said plainly: an unknown command or option, with the nearest
// ones ("did you mean backup?"), or an option that belongs to another task. Undefined when it is something else
// (a missing value, an extra argument): the parser's own message says that well enough.
export interface UsageProblem {
  message: string;
  hint: string;
}

// flags that every command takes besides the table's: yargs's own
const BUILT_IN: Record<string, 'boolean'> = { help: 'boolean', h: 'boolean', version: 'boolean', V: 'boolean' };

// A table row by its flag or alias.
function defOf(name: string): OptionDef | undefined {
  return OPTION_DEFS.find((d) => d.flag === name || d.alias === name);
}

// The command line's words and option names, in order, skipping the values that follow options which take one.
function tokensOf(argv: readonly string[]): { words: string[]; options: string[] } {
  const words: string[] = [];
  const options: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (t === '--') break;
    if (t.startsWith('--')) {
      const name = t.slice(2).split('=')[0];
      options.push(name);
      const def = defOf(name);
      if (!t.includes('=') && def && def.type !== 'boolean') i++;
    } else if (t.startsWith('-') && t.length > 1) {
      for (const c of t.slice(1)) options.push(c);
      const def = defOf(t.at(-1)!);
      if (t.length === 2 && def && def.type !== 'boolean') i++;
    } else {
      words.push(t);
    }
  }
  return { words, options };
}

const show = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);

// The problem with a refused command line, when it is an unknown command or option.
export function usageProblem(argv: readonly string[]): UsageProblem | undefined {
  const { words, options } = tokensOf(argv);
  if (!words.length) return undefined;
  const top = [...new Set(TASKS.map((t) => t.command.split(' ')[0]))];
  if (!top.includes(words[0])) {
    const near = didYouMean(words[0], top);
    return { message: `unknown command "${words[0]}"`, hint: `${near ? `${near} ` : ''}see pgops --help for the tasks` };
  }
  const group = TASKS.filter((t) => t.command.split(' ')[0] === words[0] && t.command.includes(' '));
  let entry: TaskEntry | undefined = TASKS.find((t) => t.command === words[0]);
  if (group.length) {
    const subs = group.map((t) => t.command.split(' ')[1]);
    if (words.length < 2) return { message: `pgops ${words[0]} needs a command: ${subs.join(', ')}`, hint: `e.g. pgops ${words[0]} ${subs[0]} --help` };
    entry = group.find((t) => t.command === `${words[0]} ${words[1]}`);
    if (!entry) {
      const near = didYouMean(words[1], subs, (s) => `${words[0]} ${s}`);
      return { message: `unknown command "${words[0]} ${words[1]}"`, hint: `${near ? `${near} ` : ''}pgops ${words[0]} has ${subs.join(', ')}` };
    }
  }
  if (!entry) return undefined;
  const accepted = optionsFor(entry.name);
  const names = new Set([...Object.keys(BUILT_IN), ...accepted.flatMap((d) => (d.alias ? [d.flag, d.alias] : [d.flag]))]);
  const unknown = options.find((o) => !names.has(o));
  if (unknown === undefined) return undefined;
  const elsewhere = defOf(unknown);
  if (elsewhere) {
    const owners = elsewhere.tasks === '*' ? [] : elsewhere.tasks.map((t) => TASKS.find((e) => e.name === t)?.command ?? t);
    return { message: `${show(unknown)} is not an option of pgops ${entry.command}`, hint: `it is one of ${owners.join(', ')}; see pgops ${entry.command} --help for this task's options` };
  }
  // a single letter is one edit from every other: no guess for those
  const near = unknown.length > 1 ? didYouMean(unknown, [...names].filter((n) => n.length > 1), show) : undefined;
  return { message: `unknown option ${show(unknown)} for pgops ${entry.command}`, hint: `${near ? `${near} ` : ''}see pgops ${entry.command} --help` };
}
