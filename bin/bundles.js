// Which of the bundles in dist/ (bin/build.mjs) the bin may run: each only while no source it was built from is newer.
// dist/wal.cjs (wal push and fetch alone) loads with a plain require(). A vm.Script loader with V8's code cache saved
// 2 ms per start over it (issue 11: wal fetch of a missing file, 37.1 against 39.1 ms median of 120 interleaved starts),
// under the 3 ms a start-up trick must be worth here, so it is gone; bin/build.mjs's sharing of built-ins saves 3.2 ms
// (39.1 against 42.3 ms) and stays.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

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

// dist/main.js under root when it is newer than every file in lib/ (it bundles nearly all of them).
function currentMainBundle(root) {
  const bundle = path.join(root, 'dist/main.js');
  return (mtime(bundle) ?? 0) >= newestIn(path.join(root, 'lib')) ? bundle : undefined;
}

// dist/wal.cjs under root when no source it was built from (dist/wal.inputs.json lists them) changed since.
function currentWalBundle(root, dist = path.join(root, 'dist')) {
  const bundle = path.join(dist, 'wal.cjs');
  const built = mtime(bundle);
  if (built === undefined) return undefined;
  try {
    const inputs = JSON.parse(fs.readFileSync(path.join(dist, 'wal.inputs.json'), 'utf8'));
    return inputs.every((p) => (mtime(path.join(root, p)) ?? Infinity) <= built) ? bundle : undefined;
  } catch {
    return undefined;
  }
}

module.exports = { currentMainBundle, currentWalBundle };
