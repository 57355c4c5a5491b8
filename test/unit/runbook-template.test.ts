import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runbookPages } from '../../tools/docs/runbooks.ts';
import { headingAnchors as anchors, prose } from '../support/markdown.ts';

// Every runbook follows runbooks/TEMPLATE.md, so that at 3 a.m. "Do this first", "Rollback" and "Escalation" are
// in the same place on every page.
const DIR = new URL('../../runbooks/', import.meta.url).pathname;
const read = (f: string) => fs.readFileSync(path.join(DIR, f), 'utf8');

const SECTIONS = ['Why it matters', 'When', 'Do this first', 'Steps', 'How to verify', 'Troubleshooting by exit code', 'Rollback', 'Escalation', 'Related'];

const SKIP = new Set<string>([]);

// The texts of a page's headings of one level.
function headings(text: string, level: number): string[] {
  const re = new RegExp(`^${'#'.repeat(level)} (.+?)\\s*$`, 'gm');
  return [...prose(text).matchAll(re)].map((m) => m[1]);
}

// The required sections the page lacks, or has out of order (other sections in between are allowed).
function sectionProblems(text: string): string[] {
  const found = headings(text, 2);
  const problems: string[] = [];
  let at = -1;
  for (const s of SECTIONS) {
    const i = found.indexOf(s, at + 1);
    if (i >= 0) at = i;
    else problems.push(found.includes(s) ? `"## ${s}" is out of order` : `"## ${s}" is missing`);
  }
  return problems;
}

// The section under a "## " heading, up to the next one.
function section(text: string, name: string): string {
  const body = prose(text);
  const start = body.indexOf(`\n## ${name}\n`);
  if (start < 0) return '';
  const rest = body.slice(start + name.length + 5);
  const end = rest.search(/^## /m);
  return end < 0 ? rest : rest.slice(0, end);
}

const pages = runbookPages(DIR);

describe('runbooks/TEMPLATE.md', () => {
  it('has exactly the sections every page must have, in order', () => {
    expect(headings(read('TEMPLATE.md'), 2)).toEqual(SECTIONS);
  });
});

describe.each(pages.filter((p) => !SKIP.has(p)))('runbooks/%s follows the template', (page) => {
  it('has the template sections, in order', () => {
    expect(sectionProblems(read(page))).toEqual([]);
  });

  it('numbers the steps under "Do this first"', () => {
    expect(section(read(page), 'Do this first')).toMatch(/^1\. /m);
  });
});

describe('the checks above', () => {
  it('can fail', () => {
    expect(sectionProblems('# t\n## When\n## Why it matters\n```sh\n## Steps\n```\n')).toEqual([
      '"## When" is out of order',
      '"## Do this first" is missing',
      '"## Steps" is missing',
      '"## How to verify" is missing',
      '"## Troubleshooting by exit code" is missing',
      '"## Rollback" is missing',
      '"## Escalation" is missing',
      '"## Related" is missing',
    ]);
    expect(anchors('## 3b. Rows deleted, the table exists: stage, then `INSERT ... SELECT`\n## Steps\n## Steps')).toEqual(
      new Set(['3b-rows-deleted-the-table-exists-stage-then-insert--select', 'steps', 'steps-1']),
    );
  });
});

describe('runbook anchors', () => {
  it.each(['README.md', ...pages])('%s: every #anchor link points at a heading', (page) => {
    const broken = [...prose(read(page)).matchAll(/\]\(([a-z0-9-]*\.md)?#([^)\s]+)\)/g)]
      .map((m) => ({ file: m[1] ?? page, anchor: m[2] }))
      .filter(({ file, anchor }) => !fs.existsSync(path.join(DIR, file)) || !anchors(read(file)).has(anchor))
      .map(({ file, anchor }) => `${file}#${anchor}`);
    expect(broken).toEqual([]);
  });
});
