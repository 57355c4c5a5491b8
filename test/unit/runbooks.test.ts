import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildParser } from '../../lib/cli/parser.ts';
import { pgopsCommands, relativeLinks, renderRunbookReadme, runbookPages, shellWords } from '../../tools/docs/runbooks.ts';

// Runbooks are tested like code: they must not rot between the incidents that need them.
const ROOT = new URL('../../', import.meta.url).pathname;
const DIR = path.join(ROOT, 'runbooks');
const pages = runbookPages(DIR);
const read = (f: string) => fs.readFileSync(path.join(DIR, f), 'utf8');

describe('runbooks', () => {
  it('index every page in runbooks/README.md (run npm run docs when this fails)', () => {
    const readme = read('README.md');
    expect(renderRunbookReadme(DIR, readme)).toBe(readme);
  });

  it('link every script in scripts/ from at least one page', () => {
    const all = pages.map(read).join('\n');
    const scripts = fs.readdirSync(path.join(ROOT, 'scripts')).filter((f) => f.endsWith('.ts'));
    const unlinked = scripts.filter((s) => !all.includes(`](../scripts/${s})`));
    expect(unlinked).toEqual([]);
  });

  it.each(['README.md', ...pages])('%s: every relative link resolves', (page) => {
    const broken = relativeLinks(read(page)).filter((l) => !fs.existsSync(path.resolve(DIR, l)));
    expect(broken).toEqual([]);
  });

  it.each(pages)('%s: every pgops command line parses with the real CLI parser', async (page) => {
    for (const cmd of pgopsCommands(read(page))) {
      const argv = shellWords(cmd.replace(/<[^>]+>/g, 'x')).slice(1);
      let chosen: string | undefined;
      try {
        await buildParser(argv, (entry) => {
          chosen = entry.name;
        }).parseAsync();
      } catch (err) {
        throw new Error(`${page}: \`${cmd}\` does not parse: ${(err as Error).message}`);
      }
      expect(chosen, `${page}: \`${cmd}\` names a task`).toBeDefined();
    }
  });

  it('parse failures are caught (the check above can fail)', async () => {
    await expect((async () => buildParser(['backup', '--no-such-option'], () => {}).parseAsync())()).rejects.toThrow(/Unknown argument: no-such-option/);
    expect(pgopsCommands('```sh\npgops backup \\\n  --target main # nightly\n```')).toEqual(['pgops backup --target main']);
  });
});
