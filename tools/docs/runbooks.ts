import fs from 'node:fs';
import path from 'node:path';
import { replaceBetween } from './reference.ts';

// The runbook pages (every .md in runbooks/ but the index and the template), sorted.
export function runbookPages(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md' && f !== 'TEMPLATE.md').sort();
}

// A page's title: its first "# " heading.
export function pageTitle(text: string): string {
  const m = /^# (.+)$/m.exec(text);
  return m ? m[1].trim() : '';
}

// The index of runbooks/README.md: one line per page, its link and its title.
export function runbookIndex(dir: string): string {
  return runbookPages(dir)
    .map((f) => `- [${f}](${f}): ${pageTitle(fs.readFileSync(path.join(dir, f), 'utf8'))}`)
    .join('\n');
}

// runbooks/README.md with its index brought up to date.
export function renderRunbookReadme(dir: string, readme: string): string {
  return replaceBetween(readme, 'index', runbookIndex(dir));
}

// GitHub's anchor of a heading (without the -1, -2 of repeats): lower case, punctuation but - and _ removed, each
// space a hyphen.
export function headingSlug(heading: string): string {
  return heading
    .replace(/^#+\s*/, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** a fenced shell block of a page */
export interface ShellBlock {
  /** the words of the fence's info string after the language (`sh run` has ["run"]) */
  marks: string[];
  /** the block's lines, without the indent of its fence */
  code: string;
  /** the line of the page its fence opens on (1-based) */
  line: number;
  /** the heading it is under, as written */
  section: string;
}

const SHELLS = new Set(['sh', 'bash', 'shell']);

// A page's sh, bash and shell blocks in order; a fence may be indented (a block inside a list item).
export function shellBlocks(text: string): ShellBlock[] {
  const lines = text.split('\n');
  const out: ShellBlock[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const fence = /^( *)```(.*)$/.exec(lines[i]);
    if (!fence) {
      if (/^#{1,6} /.test(lines[i])) section = lines[i].replace(/^#+\s*/, '').trim();
      continue;
    }
    const indent = fence[1].length;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^ *```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(Math.min(indent, /^ */.exec(lines[i])![0].length)));
    const [lang, ...marks] = fence[2].trim().split(/\s+/);
    if (SHELLS.has(lang)) out.push({ marks, code: body.join('\n'), line: start + 1, section });
  }
  return out;
}

// The `pgops ...` command lines of a page's sh blocks (continuation lines joined), placeholders kept.
export function pgopsCommands(text: string): string[] {
  const blocks = shellBlocks(text).map((b) => b.code.replace(/\\\n\s*/g, ''));
  return blocks
    .flatMap((b) => b.split('\n'))
    .map((l) => l.trim())
    .filter((l) => /^(npx )?pgops /.test(l))
    .map((l) => l.replace(/^npx /, '').replace(/\s+#.*$/, '').replace(/\s+(?:\||>|2>|&&|;).*$/, ''));
}

// Splits a command line as a POSIX shell would for these simple cases: single and double quotes, no expansions.
export function shellWords(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let inWord = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === ' ') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

// The relative links of a markdown page (not http(s), not mailto, not pure #anchors), without their anchors.
export function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1])
    .filter((l) => !/^[a-z]+:/i.test(l) && !l.startsWith('#'))
    .map((l) => l.split('#')[0]);
}
