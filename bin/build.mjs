#!/usr/bin/env node
// npm run build (and npm's prepare and prepack steps): bundles lib/ into dist/ with esbuild, so the pgops bin starts
// without compiling TypeScript. npm pack (and publish) ships dist/, which prepack has just built; it fails the pack
// when bundling fails, as a package without its bundles would not run.
//   dist/main.js     the whole CLI; tasks are separate chunks loaded on demand. yargs, pg and execa are bundled in:
//                    loaded from node_modules they are some 140 ES and CommonJS modules, and took 150 ms of every
//                    command's start (pgops --version: 98 ms, bundled 43 ms). The rest stays in node_modules: what
//                    loads on demand (AWS SDK, prom-client, yaml), tsx and zx (scripts), pg-native (optional)
//   dist/wal.cjs     `wal push` and `wal fetch` alone, in one CommonJS file: archive_command and restore_command run
//                    once per WAL segment, and one file loads faster than a graph of ES modules (bench:wal);
//                    dist/wal.inputs.json lists its sources, for the bin's check that it is current
//   --if-possible    a failed bundle only warns (npm's prepare step, in a clone): the bin then runs the TypeScript
//                    sources; under npm pack or publish it does nothing, as prepack, which they run first, built dist/
//   --outdir DIR     somewhere else than dist/ (tests)
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const args = process.argv.slice(2);
const ifPossible = args.includes('--if-possible');
const outdir = args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : 'dist';
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
if (ifPossible && ['pack', 'publish'].includes(process.env.npm_command)) process.exit(0);
const common = { bundle: true, platform: 'node', target: 'node20', packages: 'external', sourcemap: 'linked', logLevel: ifPossible ? 'silent' : 'warning' };

try {
  // chunks of earlier builds are never loaded again: start from an empty folder
  fs.rmSync(outdir, { recursive: true, force: true });
  await build({
    ...common,
    entryPoints: { main: path.join(root, 'lib/cli/main.ts') },
    outdir,
    splitting: true,
    format: 'esm',
    packages: undefined,
    external: ['@aws-sdk/*', 'prom-client', 'yaml', 'tsx', 'tsx/*', 'zx', 'pg-native'],
    // bundled CommonJS packages call require(): an ES module has none of its own
    banner: { js: "import { createRequire as __pgopsCreateRequire } from 'node:module'; const require = __pgopsCreateRequire(import.meta.url);" },
  });
  const wal = await build({
    ...common,
    entryPoints: { wal: path.join(root, 'lib/tasks/wal/entry.ts') },
    outdir,
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    metafile: true,
    // CommonJS has no import.meta: lib/config.ts resolves its optional yaml dependency from import.meta.url
    define: { 'import.meta.url': '__pgops_module_url' },
    banner: { js: "const __pgops_module_url = require('node:url').pathToFileURL(__filename).href;" },
  });
  if (wal.warnings.length > 0) throw new Error(`dist/wal.cjs: ${wal.warnings.map((w) => w.text).join('; ')}`);
  adjustWalBundle(path.join(outdir, 'wal.cjs'));
  const inputs = Object.keys(wal.metafile.inputs).map((p) => path.relative(root, path.resolve(root, p)));
  fs.writeFileSync(path.join(outdir, 'wal.inputs.json'), JSON.stringify(inputs) + '\n');
} catch (err) {
  if (!ifPossible) throw err;
  console.warn(`pgops: bundling lib/ failed (${err.message.split('\n')[0]}); the bin will run the TypeScript sources`);
}

// esbuild turns every `import fs from 'node:fs'` of every module into its own __toESM(require("node:fs")), a copy of
// all of fs's properties: sixteen copies, a millisecond and more at each start. One copy per built-in is enough.
function adjustWalBundle(file) {
  const pattern = /__toESM\(require\("(node:[\w/]+)"\), 1\)/g;
  const code = fs.readFileSync(file, 'utf8');
  if (!pattern.test(code)) throw new Error(`${file}: esbuild no longer writes __toESM(require("node:...")): update adjustWalBundle in bin/build.mjs`);
  // and what it loads on demand (zlib for compressed WAL, prom-client for metrics) comes through require(): import()
  // from CommonJS would start node's ES module loader for it, and require() gives the same named exports
  const shared = code.replace(pattern, '__pgops_builtin("$1")').replace(/\bimport\(("[\w:/@.-]+")\)/g, 'Promise.resolve().then(() => require($1))');
  if (/\bimport\(/.test(shared)) throw new Error(`${file}: an import() that is not of a package name is left: update adjustWalBundle in bin/build.mjs`);
  // on one line, before the first module's comment line: the source map's lines stay right
  const helper = 'const __pgops_builtins = new Map(); function __pgops_builtin(id) { if (!__pgops_builtins.has(id)) __pgops_builtins.set(id, __toESM(require(id), 1)); return __pgops_builtins.get(id); } ';
  fs.writeFileSync(file, shared.replace(/\n\/\/ lib\//, `\n${helper}// lib/`));
}
