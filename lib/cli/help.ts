import type { OptionDef } from '../options.ts';

// The value's placeholder in help: the table's, else one that names its type.
export function placeholderOf(def: OptionDef): string {
  if (def.type === 'boolean') return '';
  if (def.placeholder) return def.placeholder;
  switch (def.type) {
    case 'integer':
      return 'N';
    case 'duration':
      return 'DURATION';
    case 'size':
      return 'SIZE';
    case 'choice':
      return def.choices!.join('|');
    case 'list':
      return 'VALUE';
    default:
      return 'TEXT';
  }
}

// What the option's type accepts, in words, for the help line: "a duration such as 90s, 5m, 26h".
function typeWords(def: OptionDef): string | undefined {
  switch (def.type) {
    case 'integer':
      return def.max === undefined ? `a whole number, at least ${def.min ?? 0}` : `a whole number from ${def.min ?? 0} to ${def.max}`;
    case 'duration':
      return 'a duration: 90s, 5m, 26h, 7d';
    case 'size':
      return 'a size: 512kB, 10MB, 1GB';
    case 'list':
      return 'repeatable';
    default:
      return undefined;
  }
}

// One option's help entry: `--flag PLACEHOLDER` (and its alias), then what it does, its type, default and variables.
export function optionEntry(def: OptionDef): { left: string; right: string } {
  const value = placeholderOf(def);
  const flag = `--${def.flag}${value ? ` ${value}` : ''}`;
  const left = !def.alias ? flag : def.alias.length === 1 ? `-${def.alias}, ${flag}` : `${flag} (or --${def.alias})`;
  const notes = [typeWords(def), def.default !== undefined && def.type !== 'boolean' ? `default: ${def.default}` : undefined, def.env?.length ? `env: ${def.env.join(', ')}` : undefined, def.noConfig ? 'not from a config file' : undefined].filter(Boolean);
  return { left, right: `${def.describe}${notes.length ? ` [${notes.join('; ')}]` : ''}` };
}

// The options section of a task's help, from the option table: one entry per option, descriptions wrapped to width.
export function optionsHelp(defs: readonly OptionDef[], width = 100): string {
  const entries = defs.map(optionEntry);
  const column = Math.min(36, Math.max(...entries.map((e) => e.left.length)) + 4);
  const lines: string[] = [];
  for (const { left, right } of entries) {
    const wrapped = wrap(right, Math.max(30, width - column));
    const first = `  ${left}`;
    lines.push(first.length + 2 <= column ? first.padEnd(column) + wrapped[0] : first, ...wrapped.slice(first.length + 2 <= column ? 1 : 0).map((l) => ' '.repeat(column) + l));
  }
  return lines.join('\n');
}

// Words into lines of at most width characters (a longer word gets a line of its own).
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return line ? [...lines, line] : lines;
}
