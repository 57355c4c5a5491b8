// A number as the tables print one: a count, a size (formatSize), a duration (formatDuration) or a share: "12",
// "1,204", "3.4 MB", "1.2s", "2m05s", "1h05m", "3d02h", "12%".
const NUMBER = /^(\d[\d,]*(\.\d+)?(\s?(B|kB|MB|GB|TB|ms|s|%))?|\d+m\d\ds|\d+h\d\dm|\d+d\d\dh)$/;
// What stands for no value in a cell.
const NONE = new Set(['', '-']);

// An identifier that is all digits (a system identifier: 19 of them), not a quantity: left-aligned like other names.
const IDENTIFIER = /^\d{13,}$/;

// Whether a column holds numbers (every cell a number or no value, one at least a number): it is right-aligned.
function numeric(rows: readonly (readonly string[])[], col: number): boolean {
  const cells = rows.map((r) => r[col] ?? '');
  const number = (c: string) => NUMBER.test(c) && !IDENTIFIER.test(c);
  return cells.some(number) && cells.every((c) => NONE.has(c) || number(c));
}

// Formats rows as a plain-text table with a header, columns padded to their widest cell: numbers right-aligned, the
// rest left-aligned (the last column, left-aligned, is not padded).
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((r) => (r[col] ?? '').length)));
  const right = header.map((_, col) => numeric(rows, col));
  const pad = (cell: string, col: number, last: boolean) => (right[col] ? cell.padStart(widths[col]) : last ? cell : cell.padEnd(widths[col]));
  return all.map((r) => r.map((cell, col) => pad(cell ?? '', col, col === r.length - 1)).join('  ').trimEnd()).join('\n');
}
