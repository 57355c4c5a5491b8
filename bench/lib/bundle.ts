import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface PgopsLauncher {
  /** what runs: "dist bundle" or "bin/pgops.js" (which then picks the bundle or lib/ through tsx itself) */
  entry: string;
  /** node arguments before pgops's own */
  nodeArgs: string[];
  /** dist/main.js's mtime when the run started, to notice a rebuild during the run */
  builtAt?: number;
}

// Builds dist/ as npm ci does (bin/build.js) and returns how to start that bundle: its run(), exactly as
// bin/pgops.js calls it. Not bin/pgops.js itself: it falls back to tsx as soon as any file in lib/ is newer than
// the bundle, and lib/ edited during a run would then mix two start-ups in the samples.
export function prepareLauncher(root: string): PgopsLauncher {
  const build = path.join(root, 'bin/build.js');
  const main = path.join(root, 'dist/main.js');
  if (fs.existsSync(build)) execFileSync(process.execPath, [build], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  if (!fs.existsSync(main)) return { entry: 'bin/pgops.js', nodeArgs: [path.join(root, 'bin/pgops.js')] };
  const shim = `const { run } = await import(${JSON.stringify(pathToFileURL(main).href)}); await run(process.argv.slice(1));`;
  return { entry: 'dist bundle', nodeArgs: ['--input-type=module', '-e', shim, '--'], builtAt: fs.statSync(main).mtimeMs };
}

// True when dist/main.js was rebuilt after prepareLauncher (the samples may then mix two versions).
export function rebuiltSince(root: string, launcher: PgopsLauncher): boolean {
  if (launcher.builtAt === undefined) return false;
  try {
    return fs.statSync(path.join(root, 'dist/main.js')).mtimeMs !== launcher.builtAt;
  } catch {
    return true;
  }
}
