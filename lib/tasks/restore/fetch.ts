import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError } from '../../errors.ts';
import { HashCounter, hashStream } from '../../repo/hashing.ts';
import { MANIFEST_FILE } from '../../repo/layout.ts';
import { listedPathProblems, type Manifest, type ManifestFile } from '../../repo/manifest.ts';
import type { Repo } from '../../repo/repo.ts';

export interface VerifiedSet {
  /** folder holding the set's files as the manifest names them (dump or dump/, globals.sql) */
  dir: string;
  /** true when dir is a temp download that cleanup() removes */
  downloaded: boolean;
  /** where the restore may write files of its own (pg_restore list files): the download, else the temp folder */
  workDir: string;
  /** files in the dump's folder that the manifest does not list: never read (the listed files were copied) */
  unlisted: string[];
  cleanup(): Promise<void>;
}

const DAMAGED_HINT = 'the set is damaged: restore another backup (pgops backups list) and find out what changed the file';

// The files a restore reads must be listed, or they would be read unchecked: the dump (custom format: dump;
// directory format: dump/toc.dat, which names the others) and, when globals are restored, globals.sql. Every pgops
// set lists them: a manifest that does not was edited or damaged. Throws (exit 6) before anything is read or written.
export function checkListed(manifest: Manifest, opts: { globals: boolean }): void {
  const where = `backup ${manifest.backupId} of database "${manifest.database}"`;
  const bad = listedPathProblems(manifest);
  if (bad) throw new PgopsError(`${where} is damaged: ${bad}`, { code: ExitCode.INTEGRITY, hint: DAMAGED_HINT });
  const listed = new Set(manifest.files.map((f) => f.path));
  const dump = manifest.pgDump.format === 'directory' ? 'dump/toc.dat' : 'dump';
  if (!listed.has(dump)) throw new PgopsError(`${where} is damaged: its manifest does not list ${dump}, so there is no verified dump to restore`, { code: ExitCode.INTEGRITY, hint: DAMAGED_HINT });
  if (opts.globals && !listed.has('globals.sql')) {
    throw new PgopsError(`${where} is damaged: its manifest does not list globals.sql, and an unlisted file is never read`, {
      code: ExitCode.INTEGRITY,
      hint: 'restore without --globals (create the roles the dump needs by hand, or pass --no-owner), or restore another backup (pgops backups list)',
    });
  }
}

// Checks every file the manifest lists against its size and sha256 before anything is restored, after checkListed
// (globals: false when globals.sql is not restored). A local repository is read in place (pg_restore can seek it)
// unless the dump's folder holds files the manifest does not list: pg_restore opens whatever a directory-format
// toc.dat names there, so then, as for any other repository, the listed files alone are copied to a temp folder
// while hashing. Other files of the set's folder (a stray lease.json) are never opened by name, in place or not.
export async function fetchVerified(repo: Repo, prefix: string, manifest: Manifest, opts: { tmpDir?: string; signal: AbortSignal; onFile?: (f: ManifestFile) => void; globals?: boolean }): Promise<VerifiedSet> {
  checkListed(manifest, { globals: opts.globals ?? true });
  const listed = new Set(manifest.files.map((f) => prefix + f.path));
  const localDir = repo.localPath(prefix + MANIFEST_FILE);
  const unlisted = localDir ? (await repo.list(prefix + 'dump/')).map((o) => o.key).filter((k) => !listed.has(k)).map((k) => k.slice(prefix.length)) : [];
  if (localDir && unlisted.length === 0) {
    for (const file of manifest.files) {
      opts.signal.throwIfAborted();
      opts.onFile?.(file);
      const key = prefix + file.path;
      if (!(await repo.exists(key))) throw missing(key);
      const actual = await hashStream(await repo.get(key));
      compare(key, file, actual);
    }
    return { dir: path.dirname(localDir), downloaded: false, workDir: opts.tmpDir ?? os.tmpdir(), unlisted, cleanup: async () => {} };
  }
  const dir = await fs.mkdtemp(path.join(opts.tmpDir ?? os.tmpdir(), 'pgops-restore-'));
  const cleanup = () => fs.rm(dir, { recursive: true, force: true });
  try {
    for (const file of manifest.files) {
      opts.signal.throwIfAborted();
      opts.onFile?.(file);
      const key = prefix + file.path;
      if (!(await repo.exists(key))) throw missing(key);
      const dest = path.join(dir, file.path);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      const counter = new HashCounter();
      await pipeline(await repo.get(key, { sealed: file.sealed }), counter, createWriteStream(dest), { signal: opts.signal });
      compare(key, file, { sha256: counter.digest(), size: counter.bytes });
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { dir, downloaded: true, workDir: dir, unlisted, cleanup };
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
