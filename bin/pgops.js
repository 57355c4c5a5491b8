#!/usr/bin/env node
// The pgops bin: runs the bundles in dist/ (npm run build) when they are newer than the sources they were built
// from, else the TypeScript sources through tsx, so a change to lib/ is never shadowed by a stale bundle. An
// installed package has no sources: it runs its bundles, and never loads tsx (a dev dependency). Either way a
// command line goes through lib/cli/dispatch.ts, the one front door.
//
// `wal push` and `wal fetch` run once per WAL segment (archive_command, restore_command): they load dist/wal.cjs,
// which holds nothing else, and check only its own sources (bin/bundles.js). This file is CommonJS (bin/package.json)
// for them: an ES module entry makes node load its ES module loader first, milliseconds archive_command pays per segment.
'use strict';
const path = require('node:path');
const { currentMainBundle, currentWalBundle, hasSources } = require('./bundles.js');

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
    enableCompileCache();
    await (await import(dist)).main(argv);
  } else if (hasSources(root)) {
    const { register } = await import('tsx/esm/api');
    register();
    await (await import('../lib/cli/main.ts')).main(argv);
  } else {
    process.stderr.write(`pgops: ${path.join(root, 'dist/main.js')} is missing: this installation of pgops is incomplete\nHINT: install it again (npm install -g pgops, or the tarball npm pack made: its prepack step builds dist/)\n`);
    process.exitCode = 2;
  }
}

// Node >= 22.1 keeps V8's compiled code of dist/main.js and its chunks on disk: pgops --version of the installed
// package took 103.0 ms in each of two runs of 41 interleaved starts, against 110.1 and 110.5 ms without (Node 24;
// backup --help 124.0 and 127.6 against 131.7 and 129.1 ms). In a folder of the user's own, not Node's default
// under /tmp, where another local user could plant a cache that root would then run; NODE_COMPILE_CACHE still picks
// the folder, NODE_DISABLE_COMPILE_CACHE=1 turns it off. Not for wal push and fetch: their bundle gains 2 ms from a code cache
// (bin/bundles.js), and archive_command would write into the server user's home.
function enableCompileCache() {
  const { enableCompileCache: enable } = require('node:module');
  if (typeof enable !== 'function') return;
  const xdg = process.env.XDG_CACHE_HOME;
  const home = xdg && path.isAbsolute(xdg) ? xdg : path.join(require('node:os').homedir(), '.cache');
  // it never throws: a folder it cannot create just leaves the cache off
  enable(process.env.NODE_COMPILE_CACHE ? undefined : path.join(home, 'pgops', 'node-compile-cache'));
}

main().catch((err) => {
  // a bundle that does not load: nothing is open yet, the process ends by itself
  process.stderr.write(`pgops: ${err?.stack ?? err}\n`);
  process.exitCode = 2;
});
