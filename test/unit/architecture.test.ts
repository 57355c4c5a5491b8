import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// docs/architecture.md gives every module one line: a module nobody described, or a line naming a module that is
// gone, fails here.
const ROOT = new URL('../../', import.meta.url).pathname;
const doc = fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');

function filesUnder(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

// Named by its path, or (in the tasks table) by `<task>/*` or a row of `<task>/...` naming its file.
function described(file: string): boolean {
  if (doc.includes(`\`${file}\``)) return true;
  const m = /^lib\/tasks\/([\w-]+)\/(.+)$/.exec(file);
  if (!m) return false;
  const [, task, rest] = m;
  if (doc.includes(`\`${task}/*\``) || doc.includes(`\`${task}/${rest}\``)) return true;
  return doc.split('\n').some((line) => line.startsWith(`| \`${task}/`) && line.split('|')[1].includes(`\`${path.basename(rest)}\``));
}

describe('docs/architecture.md', () => {
  it('gives every module of lib/ a line', () => {
    expect(filesUnder('lib').filter((f) => !described(f))).toEqual([]);
  });

  it('names no module that does not exist', () => {
    const named = [...doc.matchAll(/`((?:lib|bin|tools)\/[\w./-]+\.(?:ts|js|mjs))`/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(50);
    expect(named.filter((f) => !fs.existsSync(path.join(ROOT, f)))).toEqual([]);
  });
});
