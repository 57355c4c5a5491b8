#!/usr/bin/env node
// The pgops bin: runs the bundles in dist/ (npm run build) when they are newer than the sources they were built
// from, else the TypeScript sources through tsx, so a change to lib/ is never shadowed by a stale bundle.
//
// `wal push` and `wal fetch` run once per WAL segment (archive_command, restore_command): they load dist/wal.cjs,
// which holds nothing else, and check only its own sources (bin/bundles.js). This file is CommonJS (bin/package.json)
// for them: an ES module entry makes node load its ES module loader first, about 5 ms archive_command pays per segment.
'use strict';
const path = require('node:path');
const { currentMainBundle, currentWalBundle, loadWalBundle } = require('./bundles.js');

const root = path.dirname(__dirname);
const argv = process.argv.slice(2);

async function main() {
  if (argv[0] === 'wal' && (argv[1] === 'push' || argv[1] === 'fetch')) {
    const bundle = currentWalBundle(root);
    // false: a command line only the full CLI handles (help, an unknown option)
    if (bundle && (await loadWalBundle(bundle).exports.runFast(argv))) return;
  }
  const dist = currentMainBundle(root);
  if (dist) {
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
