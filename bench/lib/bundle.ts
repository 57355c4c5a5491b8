import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface PgopsLauncher {
  /** what runs: "dist bundle" or "bin/pgops.js" (which then picks the bundle or lib/ through tsx itself) */
  entry: string;
  /** node arguments before pgops's own */
  nodeArgs: string[];
  /** the bundle that runs (dist/main.js or dist/wal.cjs) and its mtime when the run started, to notice a rebuild */
  bundle?: string;
  builtAt?: number;
}

// Builds dist/ as npm ci does (bin/build.mjs) and returns how to start that bundle: its main(), exactly as
// bin/pgops.js calls it. Not bin/pgops.js itself: it falls back to tsx as soon as any file in lib/ is newer than
// the bundle, and lib/ edited during a run would then mix two start-ups in the samples.
export function prepareLauncher(root: string): PgopsLauncher {
  const build = path.join(root, 'bin/build.mjs');
  const main = path.join(root, 'dist/main.js');
  if (fs.existsSync(build)) execFileSync(process.execPath, [build], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  if (!fs.existsSync(main)) return { entry: 'bin/pgops.js', nodeArgs: [path.join(root, 'bin/pgops.js')] };
  // dist/main.js's entry is main(argv) (lib/cli/main.ts), as bin/pgops.js calls it
  const shim = `const { main } = await import(${JSON.stringify(pathToFileURL(main).href)}); await main(process.argv.slice(1));`;
  return { entry: 'dist bundle', nodeArgs: ['--input-type=module', '-e', shim, '--'], bundle: 'dist/main.js', builtAt: fs.statSync(main).mtimeMs };
}

// What the results record as pgops's entry: the launcher's, marked (with a warning) when its bundle was rebuilt
// during the run or `stale` says the run did not end on the code it started with: the samples may mix two versions.
export function entryAfterRun(root: string, launcher: PgopsLauncher, stale = false): string {
  if (!stale && !rebuiltSince(root, launcher)) return launcher.entry;
  process.stderr.write('WARNING: dist/ was rebuilt during the run, so the samples may mix two versions of pgops: run again\n');
  return `${launcher.entry}, rebuilt during the run`;
}

// True when the bundle was rebuilt after the launcher was prepared (the samples may then mix two versions).
function rebuiltSince(root: string, launcher: PgopsLauncher): boolean {
  if (launcher.builtAt === undefined) return false;
  try {
    return fs.statSync(path.join(root, launcher.bundle ?? 'dist/main.js')).mtimeMs !== launcher.builtAt;
  } catch {
    return true;
  }
}

// For bench:wal: the bin itself, exactly as archive_command runs it (`node bin/pgops.js wal push ...`), which loads
// dist/wal.cjs as long as none of its sources is newer than it. builtAt is dist/wal.cjs's mtime.
export function prepareWalLauncher(root: string): PgopsLauncher {
  execFileSync(process.execPath, [path.join(root, 'bin/build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  const bundle = path.join(root, 'dist/wal.cjs');
  if (!walBundleCurrent(root)) throw new Error('dist/wal.cjs is missing or older than its sources right after bin/build.mjs: see bin/pgops.js');
  return { entry: 'bin/pgops.js, which loads dist/wal.cjs', nodeArgs: [path.join(root, 'bin/pgops.js')], bundle: 'dist/wal.cjs', builtAt: fs.statSync(bundle).mtimeMs };
}

// bin/pgops.js's own test (bin/bundles.js): dist/wal.cjs exists and none of the sources it lists is newer.
export function walBundleCurrent(root: string): boolean {
  const { currentWalBundle } = createRequire(import.meta.url)(path.join(root, 'bin/bundles.js')) as { currentWalBundle(root: string): string | undefined };
  return currentWalBundle(root) !== undefined;
}
