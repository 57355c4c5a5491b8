// Formats rows as a plain-text table with a header, columns padded to their widest cell (the last one is not padded).
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((r) => (r[col] ?? '').length)));
  return all.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : (cell ?? '').padEnd(widths[col]))).join('  ').trimEnd()).join('\n');
}
