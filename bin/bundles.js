// Which of the bundles in dist/ (bin/build.mjs) the bin may run, and how dist/wal.cjs loads.
//
// dist/wal.cjs is the bundle of `wal push` and `wal fetch` alone: archive_command and restore_command start it once per
// WAL segment, so it loads with V8's code cache (dist/wal.cjs.cache), as node 22's module.enableCompileCache() would:
// the functions a run compiles come precompiled. A cache that does not fit this node (another version, other V8
// flags) is ignored by V8, and the bundle compiles as usual.
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

// Loads the bundle as require() would, with the code cache beside it when there is one.
function loadWalBundle(bundle) {
  const vm = require('node:vm');
  const Module = require('node:module');
  let cachedData;
  try {
    cachedData = fs.readFileSync(`${bundle}.cache`);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(fs.readFileSync(bundle, 'utf8')), {
    filename: bundle,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
  return { exports: module.exports, script };
}

// bin/build.mjs, in a process of its own: runs the bundle the ways archive_command and restore_command do, against a
// throw-away repository (a push of a small made-up segment, the same push again, a fetch of it and a fetch of a
// file that is not there), then writes the code of every function compiled so far into dist/wal.cjs.cache.
async function writeCodeCache(dist) {
  const bundle = path.join(dist, 'wal.cjs');
  fs.rmSync(`${bundle}.cache`, { force: true });
  const { exports, script } = loadWalBundle(bundle);
  const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'pgops-code-cache-'));
  try {
    const name = '000000010000000000000001';
    fs.writeFileSync(path.join(tmp, name), madeUpSegment(1));
    // writers refuse a folder that `pgops repo init` did not make a repository (lib/repo/identity.ts)
    fs.mkdirSync(path.join(tmp, 'repo'));
    fs.writeFileSync(path.join(tmp, 'repo', 'pgops-repo.json'), JSON.stringify({ format: 'pgops-repo', version: 1, createdAt: new Date().toISOString(), tool: { name: 'pgops', version: 'code-cache' } }));
    const repo = ['--repo', `file://${path.join(tmp, 'repo')}`];
    const runs = [
      [['wal', 'push', path.join(tmp, name), ...repo], 0],
      [['wal', 'push', path.join(tmp, name), ...repo], 0],
      [['wal', 'fetch', name, path.join(tmp, 'fetched'), ...repo, '--system-id', '1'], 0],
      [['wal', 'fetch', '000000010000000000000002', path.join(tmp, 'missing'), ...repo, '--system-id', '1'], 5],
    ];
    for (const [argv, expected] of runs) {
      const code = await exports.runWal(argv);
      if (code !== expected) throw new Error(`pgops ${argv.join(' ')} exited ${code}, expected ${expected}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.writeFileSync(`${bundle}.cache`, script.createCachedData());
}

// A 1 MB WAL segment of system 1 whose first page has a PostgreSQL 15 long header (lib/wal/header.ts), for segment
// number segno; the rest is zeros.
function madeUpSegment(segno) {
  const size = 1024 * 1024;
  const buf = Buffer.alloc(size);
  buf.writeUInt16LE(0xd110, 0);
  buf.writeUInt16LE(0x0002, 2);
  buf.writeUInt32LE(1, 4);
  buf.writeBigUInt64LE(BigInt(segno * size), 8);
  buf.writeBigUInt64LE(1n, 24);
  buf.writeUInt32LE(size, 32);
  buf.writeUInt32LE(8192, 36);
  return buf;
}

module.exports = { currentMainBundle, currentWalBundle, loadWalBundle, writeCodeCache };
