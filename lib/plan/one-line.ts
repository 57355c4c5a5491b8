// A statement or query for one line of output: whitespace collapsed, cut to `max` characters with an ellipsis.
export function oneLine(text: string | null | undefined, max = 80): string {
  const t = (text ?? '').replace(/\s+/g, ' ').trim();
  return [...t].length > max ? [...t].slice(0, max - 1).join('') + '…' : t;
}
