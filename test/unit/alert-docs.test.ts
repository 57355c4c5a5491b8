import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deadPages } from '../support/markdown.ts';

// Every alert leads to its page: each alert or monitor rule the docs show names the runbook page that handles it,
// and the page (and its #anchor) exists. The checks name theirs at run time (test/unit/check/runbook-pages.test.ts).
const ROOT = new URL('../../', import.meta.url).pathname;
const listed = (dir: string, ext = '') => fs.readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith(ext)).sort().map((f) => `${dir}/${f}`);
const DOCS = ['README.md', ...listed('docs', '.md'), ...listed('runbooks', '.md')];
const UNITS = listed('deploy/systemd', '.service');

// The runbook pages a text names, from the repository's root: markdown links (relative to the file), and
// `runbooks/<page>.md[#anchor]` as the checks print it and the rules below write it.
function pagesNamed(text: string, file: string): string[] {
  const links = [...text.matchAll(/\]\(([^)\s]+\.md(?:#[^)\s]*)?)\)/g)].map((m) => path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1])));
  const bare = [...text.matchAll(/(?<![\w/.-])runbooks\/[\w-]+\.md(?:#[\w-]+)?/g)].map((m) => m[0]);
  return [...new Set([...links, ...bare].filter((p) => p.startsWith('runbooks/')))];
}

interface Block {
  code: boolean;
  text: string;
  /** the "## " section it is in */
  section: string;
}

// A markdown page as paragraphs and fenced blocks, in order.
function blocksOf(text: string): Block[] {
  const blocks: Block[] = [];
  let section = '';
  let cur: Block | undefined;
  let fence: string | undefined;
  for (const line of text.split('\n')) {
    const marker = /^ *(```|~~~)/.exec(line)?.[1];
    if (fence) {
      cur!.text += `\n${line}`;
      if (marker === fence) [fence, cur] = [undefined, undefined];
      continue;
    }
    if (marker) {
      fence = marker;
      cur = { code: true, text: line, section };
      blocks.push(cur);
      continue;
    }
    if (line.startsWith('## ')) section = line.slice(3).trim();
    if (!line.trim()) cur = undefined;
    else if (cur) cur.text += `\n${line}`;
    else blocks.push((cur = { code: false, text: line, section }));
  }
  return blocks;
}

// The alert and monitor examples of a page, each with the pages it names: a Prometheus rule (`- alert:`) by its
// runbook_url, a Nagios service by its notes_url, and a sentence saying to alert on something by the pages of its
// paragraph (or of the example right after a paragraph ending in ':'). A runbook's "When" section is exempt: the
// alerts it lists are the ones that lead to that very page.
function alertExamples(text: string, file: string): { example: string; pages: string[] }[] {
  const out: { example: string; pages: string[] }[] = [];
  const blocks = blocksOf(text);
  blocks.forEach((b, i) => {
    if (b.code) {
      for (const rule of b.text.split(/^\s*- alert:/m).slice(1)) out.push({ example: `alert:${rule.split('\n')[0]}`, pages: pagesNamed(/runbook_url:.*/.exec(rule)?.[0] ?? '', file) });
      for (const service of b.text.split(/define service\s*\{/).slice(1)) out.push({ example: `define service ${/service_description\s+(.*)/.exec(service)?.[1] ?? ''}`, pages: pagesNamed(/notes_url.*/.exec(service)?.[0] ?? '', file) });
      return;
    }
    if (!/\balert(?:s|ing)? (?:on|when|if)\b/i.test(b.text) || (file.startsWith('runbooks/') && b.section === 'When')) return;
    const next = blocks[i + 1];
    const example = b.text.trimEnd().endsWith(':') && next?.code ? `${b.text}\n${next.text}` : b.text;
    out.push({ example: b.text.split('\n')[0], pages: pagesNamed(example, file) });
  });
  return out;
}

// The examples of the files that name no runbook page, or one that does not exist.
function unlinked(files: readonly string[], read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8')): string[] {
  return files.flatMap((f) => alertExamples(read(f), f).filter((e) => e.pages.length === 0 || deadPages(e.pages).length > 0).map((e) => `${f}: ${e.example} -> ${e.pages.join(', ') || 'no page'}`));
}

describe('alert examples in the docs', () => {
  it('each name the runbook page that handles the alert, and the page exists', () => {
    expect(DOCS.flatMap((f) => alertExamples(fs.readFileSync(path.join(ROOT, f), 'utf8'), f)).length).toBeGreaterThanOrEqual(8);
    expect(unlinked(DOCS)).toEqual([]);
  });

  it('each systemd service names the page for a failed run, and the page exists', () => {
    const pages = UNITS.map((f) => [f, pagesNamed(fs.readFileSync(path.join(ROOT, f), 'utf8'), f)] as const);
    expect(pages.filter(([, p]) => p.length === 0).map(([f]) => f)).toEqual([]);
    expect(pages.flatMap(([, p]) => deadPages(p))).toEqual([]);
  });

  it('can fail: a rule without runbook_url, a dead page, an alert sentence naming no page', () => {
    const doc = [
      'Alert on `x > 1`:',
      '',
      '```yaml',
      '- alert: A',
      '  expr: a > 0',
      '- alert: B',
      '  annotations:',
      '    runbook_url: runbooks/no-such-page.md',
      '- alert: C',
      '  annotations:',
      '    runbook_url: runbooks/verify.md#2-what-each-finding-means',
      '```',
      '',
      'Then alert on anything but 0.',
      '',
      'Or alert on `y`, the page is [backup-failed.md](runbooks/backup-failed.md).',
      '',
      '```text',
      'define service {',
      '  service_description  pgops x',
      '}',
      '```',
    ].join('\n');
    expect(unlinked(['doc.md'], () => doc)).toEqual([
      'doc.md: Alert on `x > 1`: -> runbooks/no-such-page.md, runbooks/verify.md#2-what-each-finding-means',
      'doc.md: alert: A -> no page',
      'doc.md: alert: B -> runbooks/no-such-page.md',
      'doc.md: Then alert on anything but 0. -> no page',
      'doc.md: define service pgops x -> no page',
    ]);
    // the alerts a runbook's When section lists lead to that page
    expect(unlinked(['runbooks/x.md'], () => '## When\n\nan alert on `y` brought you here')).toEqual([]);
  });
});
