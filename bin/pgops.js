#!/usr/bin/env node
// The pgops bin: runs the bundles in dist/ (npm run build) when they are newer than the sources they were built
// from, else the TypeScript sources through tsx, so a change to lib/ is never shadowed by a stale bundle. Either
// way a command line goes through lib/cli/dispatch.ts, the one front door.
//
// `wal push` and `wal fetch` run once per WAL segment (archive_command, restore_command): they load dist/wal.cjs,
// which holds nothing else, and check only its own sources (bin/bundles.js). This file is CommonJS (bin/package.json)
// for them: an ES module entry makes node load its ES module loader first, milliseconds archive_command pays per segment.
'use strict';
const path = require('node:path');
const { currentMainBundle, currentWalBundle } = require('./bundles.js');

const root = path.dirname(__dirname);
const argv = process.argv.slice(2);

async function main() {
  // the one spot outside lib/ that tells a wal push or fetch: it picks the bundle (lib/tasks/wal/args.ts: walCommandOf)
  if (argv[0] === 'wal' && (argv[1] === 'push' || argv[1] === 'fetch')) {
    const bundle = currentWalBundle(root);
    // false: a command line only the full parser handles (help, an unknown option)
    if (bundle && (await require(bundle).main(argv))) return;
  }
  const dist = currentMainBundle(root);
  if (dist) {
    await (await import(dist)).main(argv);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await (await import('../lib/cli/main.ts')).main(argv);
  }
}

main().catch((err) => {
  // a bundle that does not load: nothing is open yet, the process ends by itself
  process.stderr.write(`pgops: ${err?.stack ?? err}\n`);
  process.exitCode = 2;
});
