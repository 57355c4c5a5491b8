import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildParser } from '../../lib/cli/parser.ts';
import { pgopsCommands, shellWords } from '../../tools/docs/runbooks.ts';

// The runbooks of reindex, analyze and refresh-matviews: every command in them is one the real CLI accepts, and
// every relative link points at a file that exists.
const DIR = new URL('../../runbooks/', import.meta.url).pathname;
const PAGES = { 'reindex.md': 'reindex', 'analyze.md': 'analyze', 'refresh-matviews.md': 'refresh-matviews' } as const;

// The `pgops ...` lines of the page's sh blocks, with <placeholders> filled in.
function commands(page: string): string[] {
  return pgopsCommands(fs.readFileSync(path.join(DIR, page), 'utf8')).map((l) => l.replace(/<[^>]+>/g, 'x'));
}

describe.each(Object.entries(PAGES))('runbooks/%s', (page, task) => {
  it('has commands the pgops parser accepts, each for its task', async () => {
    const cmds = commands(page);
    expect(cmds.length).toBeGreaterThanOrEqual(2);
    for (const cmd of cmds) {
      let chosen: string | undefined;
      let flags: Record<string, unknown> = {};
      await buildParser(shellWords(cmd).slice(1), (entry, f) => {
        chosen = entry.name;
        flags = f;
      }).parseAsync();
      expect(chosen, cmd).toBe(task);
      if (cmd.includes('--index')) expect(flags.index).toEqual(['public."Orders_by_Day"']);
    }
  });

  it('links only to files that exist, its script among them', () => {
    const text = fs.readFileSync(path.join(DIR, page), 'utf8');
    const links = [...text.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
    expect(links).toContain(`../scripts/${task}.ts`);
    for (const l of links) expect(fs.existsSync(path.join(DIR, l)), l).toBe(true);
  });

  it('is listed in the runbook index', () => {
    expect(fs.readFileSync(path.join(DIR, 'README.md'), 'utf8')).toContain(`- [${page}](${page}): `);
  });
});
