#!/usr/bin/env node
// The pgops bin: runs the bundles in dist/ (npm run build) when they are newer than the sources they were built
// from, else the TypeScript sources through tsx, so a change to lib/ is never shadowed by a stale bundle.
//
// `wal push` and `wal fetch` run once per WAL segment (archive_command, restore_command): they load dist/wal.cjs,
// which holds nothing else, and check only its own sources (bin/wal-bundle.js). This file is CommonJS (bin/package.json) for them: an
// ES module entry makes node load its ES module loader first, about 5 ms that archive_command would pay per segment.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.dirname(__dirname);
const argv = process.argv.slice(2);

function mtime(file) {
  return fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs;
}

function newestIn(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

async function main() {
  if (argv[0] === 'wal' && (argv[1] === 'push' || argv[1] === 'fetch')) {
    const { currentWalBundle, loadWalBundle } = require('./wal-bundle.js');
    const bundle = currentWalBundle(root);
    // false: a command line only the full CLI handles (help, an unknown option)
    if (bundle && (await loadWalBundle(bundle).exports.runFast(argv))) return;
  }
  const dist = path.join(root, 'dist/main.js');
  if ((mtime(dist) ?? 0) >= newestIn(path.join(root, 'lib'))) {
    await (await import(dist)).run(argv);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await (await import('../lib/main.ts')).run(argv);
  }
}

main().catch((err) => {
  process.stderr.write(`pgops: ${err?.stack ?? err}\n`);
  process.exit(2);
});
