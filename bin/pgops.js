#!/usr/bin/env node
// The pgops bin: runs the bundle in dist/ (npm run build) when it is newer than every file in lib/, else the
// TypeScript sources through tsx, so a change to lib/ is never shadowed by a stale bundle.
import fs from 'node:fs';

const dist = new URL('../dist/main.js', import.meta.url);
const lib = new URL('../lib/', import.meta.url);

function newestIn(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

let bundled = false;
try {
  bundled = fs.statSync(dist).mtimeMs >= newestIn(lib);
} catch {
  bundled = false;
}
if (bundled) {
  await (await import(dist.href)).run(process.argv.slice(2));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await (await import('../lib/main.ts')).run(process.argv.slice(2));
}
