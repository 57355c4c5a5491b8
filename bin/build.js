#!/usr/bin/env node
// npm run build (and npm's prepare step): bundles lib/ into dist/ with esbuild, so the pgops bin starts without
// compiling TypeScript. Tasks stay separate chunks loaded on demand; node_modules stay external.
import { build } from 'esbuild';

// --if-possible (npm's prepare step): a failed bundle only warns; the bin then runs the TypeScript sources
const ifPossible = process.argv.includes('--if-possible');
try {
  await build({
  entryPoints: { main: 'lib/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  });
} catch (err) {
  if (!ifPossible) throw err;
  console.warn(`pgops: bundling lib/ failed (${err.message.split('\n')[0]}); the bin will run the TypeScript sources`);
}
