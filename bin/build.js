#!/usr/bin/env node
// npm run build (and npm's prepare step): bundles lib/ into dist/ with esbuild, so the pgops bin starts without
// compiling TypeScript. Tasks stay separate chunks loaded on demand; node_modules stay external.
//   --if-possible   a failed bundle only warns (npm's prepare step): the bin then runs the TypeScript sources
//   --outdir DIR    somewhere else than dist/ (tests)
import { build } from 'esbuild';

const args = process.argv.slice(2);
const ifPossible = args.includes('--if-possible');
const outdir = args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : 'dist';
try {
  await build({
    entryPoints: { main: new URL('../lib/main.ts', import.meta.url).pathname },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: ifPossible ? 'silent' : 'warning',
  });
} catch (err) {
  if (!ifPossible) throw err;
  console.warn(`pgops: bundling lib/ failed (${err.message.split('\n')[0]}); the bin will run the TypeScript sources`);
}
