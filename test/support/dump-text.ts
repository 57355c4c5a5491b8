// Plain-text pg_dump output made comparable between two databases, without lib/ code: a test of pgops must not
// judge pgops by pgops' own reading of a database.

// A plain dump less what differs between any two runs of pg_dump: the "-- Dumped from/by ... version" comments,
// and the key of the \restrict and \unrestrict lines, random per run (pg_dump 15.14 and later, CVE-2025-8714).
export function comparableDump(dump: string): string {
  return dump.replace(/^-- Dumped (from database|by pg_dump) version .*\n/gm, '').replace(/^\\(un)?restrict [A-Za-z0-9]+$/gm, '\\$1restrict KEY');
}

// A plain data-only dump with the rows inside each COPY block sorted: row order on disk is no part of the content.
export function sortCopyBlocks(dump: string): string {
  const out: string[] = [];
  let rows: string[] | undefined;
  for (const line of dump.split('\n')) {
    if (rows) {
      // COPY escapes newlines inside values, so every row is one line and "\." alone ends the block
      if (line === '\\.') {
        out.push(...rows.sort(), line);
        rows = undefined;
      } else rows.push(line);
    } else {
      out.push(line);
      if (/^COPY .* FROM stdin;$/.test(line)) rows = [];
    }
  }
  if (rows) throw new Error(`sortCopyBlocks: the dump ends inside a COPY block (${rows.length} rows after the last COPY line, no "\\." line)`);
  return out.join('\n');
}

// Where two texts first differ, as a short message: the line number, the COPY or object it belongs to, a few
// lines of each side; undefined when they are equal.
export function firstDifference(a: string, b: string, names: [string, string] = ['a', 'b'], context = 3): string | undefined {
  if (a === b) return undefined;
  const la = a.split('\n');
  const lb = b.split('\n');
  let i = 0;
  while (i < la.length && i < lb.length && la[i] === lb[i]) i++;
  // the nearest COPY line or "-- Name: ..." comment above says which table or object the difference is in
  let where = '';
  for (let j = i; j >= 0 && !where; j--) {
    const line = la[j] ?? '';
    if (/^COPY /.test(line) || /^-- Name: /.test(line)) where = ` (in ${line.replace(/ FROM stdin;$/, '')})`;
  }
  const show = (lines: string[]) => lines.slice(i, i + context).map((l) => `    ${l.length > 200 ? l.slice(0, 200) + '…' : l}`).join('\n') || '    (end of text)';
  return [
    `first difference at line ${i + 1}${where}; ${names[0]} has ${la.length} lines, ${names[1]} ${lb.length}`,
    `  ${names[0]}:`,
    show(la),
    `  ${names[1]}:`,
    show(lb),
  ].join('\n');
}
