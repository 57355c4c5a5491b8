import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../../tools/docs/reference.ts';
import { OPTIONS } from '../../lib/options.ts';

describe('README', () => {
  const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  it('has the command, option and exit-code sections the code generates (run npm run docs)', () => {
    expect(renderReadme(readme)).toBe(readme);
  });
  it('documents every option', () => {
    for (const o of OPTIONS) expect(readme).toContain(`--${o.flag}`);
  });
});
