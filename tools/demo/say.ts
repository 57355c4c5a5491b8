// What the demo prints: step headings, the commands it runs, and their output, indented like a runbook.
// Colours only when stdout is a terminal and NO_COLOR is unset (https://no-color.org).
const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;

const paint = (open: string, close: string) => (text: string) => (color ? `\x1b[${open}m${text}\x1b[${close}m` : text);
export const bold = paint('1', '22');
export const dim = paint('2', '22');
export const green = paint('32', '39');
export const red = paint('31', '39');

// A numbered heading: "2. load sample data into database shop".
export function step(n: number, text: string): void {
  process.stdout.write(`\n${bold(`${n}. ${text}`)}\n`);
}

// A line of narration under the current step.
export function say(text = ''): void {
  process.stdout.write(text.split('\n').map((line) => (line === '' ? '\n' : `   ${line}\n`)).join(''));
}

// Output of a command, indented under it.
export function output(line: string): void {
  process.stdout.write(`     ${dim('|')} ${line}\n`);
}

// A shell word, single-quoted only when it needs to be, so a shown command can be pasted as it is.
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// Prints a command the way a runbook shows it: "$ node bin/pgops.js backup --db ...".
export function showCommand(argv: string[]): void {
  process.stdout.write(`\n   ${bold('$ ' + argv.map(shellWord).join(' '))}\n`);
}
