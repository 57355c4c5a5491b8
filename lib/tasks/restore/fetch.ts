import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError } from '../../errors.ts';
import type { Manifest, ManifestFile } from '../../manifest.ts';
import { HashCounter, hashStream } from '../../repo/hashing.ts';
import type { Repo } from '../../repo/repo.ts';

export interface VerifiedSet {
  /** folder holding the set's files as the manifest names them (dump or dump/, globals.sql) */
  dir: string;
  /** true when dir is a temp download that cleanup() removes */
  downloaded: boolean;
  cleanup(): Promise<void>;
}

const DAMAGED_HINT = 'the set is damaged: restore another backup (pgops backups list) and find out what changed the file';

// Checks every file the manifest lists against its size and sha256 before anything is restored. A local
// repository is read in place (pg_restore can seek it); anything else is downloaded to a temp folder while hashing.
export async function fetchVerified(repo: Repo, prefix: string, manifest: Manifest, opts: { tmpDir?: string; signal: AbortSignal; onFile?: (f: ManifestFile) => void }): Promise<VerifiedSet> {
  const localDir = repo.localPath(prefix + 'manifest.json');
  if (localDir) {
    for (const file of manifest.files) {
      opts.signal.throwIfAborted();
      opts.onFile?.(file);
      const key = prefix + file.path;
      if (!(await repo.exists(key))) throw missing(key);
      const actual = await hashStream(await repo.get(key));
      compare(key, file, actual);
    }
    return { dir: path.dirname(localDir), downloaded: false, cleanup: async () => {} };
  }
  const dir = await fs.mkdtemp(path.join(opts.tmpDir ?? os.tmpdir(), 'pgops-restore-'));
  const cleanup = () => fs.rm(dir, { recursive: true, force: true });
  try {
    for (const file of manifest.files) {
      opts.onFile?.(file);
      const key = prefix + file.path;
      if (!(await repo.exists(key))) throw missing(key);
      const dest = path.join(dir, file.path);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      const counter = new HashCounter();
      await pipeline(await repo.get(key), counter, createWriteStream(dest), { signal: opts.signal });
      compare(key, file, { sha256: counter.digest(), size: counter.bytes });
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { dir, downloaded: true, cleanup };
}

function missing(key: string): PgopsError {
  return new PgopsError(`${key} is listed in the manifest but missing from the repository`, { code: ExitCode.INTEGRITY, hint: DAMAGED_HINT });
}

function compare(key: string, expected: ManifestFile, actual: { sha256: string; size: number }): void {
  if (actual.sha256 === expected.sha256 && actual.size === expected.size) return;
  throw new PgopsError(
    `checksum mismatch in ${key}: the manifest lists sha256 ${expected.sha256} (${expected.size} bytes), the stored file has ${actual.sha256} (${actual.size} bytes); nothing was restored`,
    { code: ExitCode.INTEGRITY, hint: DAMAGED_HINT },
  );
}
