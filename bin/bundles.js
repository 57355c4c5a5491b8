// Which of the bundles in dist/ (bin/build.mjs) the bin may run. In a clone, each only while no source it was built
// from is newer. An installed package (npm pack's tarball) ships dist/ but not lib/: there the bundles are current by
// definition, and the bin must not reach for tsx, a dev dependency that is not installed.
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

// Whether root holds the TypeScript sources (a clone) rather than only the bundles (an installed package).
function hasSources(root) {
  return fs.existsSync(path.join(root, 'lib'));
}

// dist/main.js under root when it is newer than every file in lib/ (it bundles nearly all of them), or when there is
// no lib/ to compare with.
function currentMainBundle(root) {
  const bundle = path.join(root, 'dist/main.js');
  const built = mtime(bundle);
  if (built === undefined) return undefined;
  if (!hasSources(root)) return bundle;
  return built >= newestIn(path.join(root, 'lib')) ? bundle : undefined;
}

// dist/wal.cjs under root when no source it was built from (dist/wal.inputs.json lists them) changed since, or when
// there is no lib/ to compare with.
function currentWalBundle(root, dist = path.join(root, 'dist')) {
  const bundle = path.join(dist, 'wal.cjs');
  const built = mtime(bundle);
  if (built === undefined) return undefined;
  if (!hasSources(root)) return bundle;
  try {
    const inputs = JSON.parse(fs.readFileSync(path.join(dist, 'wal.inputs.json'), 'utf8'));
    return inputs.every((p) => (mtime(path.join(root, p)) ?? Infinity) <= built) ? bundle : undefined;
  } catch {
    return undefined;
  }
}

module.exports = { currentMainBundle, currentWalBundle, hasSources };
