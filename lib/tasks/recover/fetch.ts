import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError } from '../../errors.ts';
import { BACKUP_MANIFEST_FILE, baseTarName } from '../../repo/basebackup-manifest.ts';
import type { CompleteBaseBackup } from '../../repo/basebackups.ts';
import { discardSink, HashCounter } from '../../repo/hashing.ts';
import { basebackupPrefix } from '../../repo/layout.ts';
import type { ManifestFile } from '../../repo/manifest.ts';
import { NotFoundError, type Repo } from '../../repo/repo.ts';

// Every file of a base backup checked against the size and sha256 its manifest lists. From a file repository,
// backup_manifest is hashed in place before anything is laid down, and the base tar as the lay-down reads it (one read
// instead of two: on bench:pitr's 341 MB tar the read before the lay-down took 0.46 s); the lay-down removes what it
// laid down when the tar's sum differs. Anything else is downloaded, hashing, into a staging folder beside the data
// directory, on its file system, and read from there.

// The checked files of a base backup, where lay-down reads them.
export interface FetchedBackup {
  /** the base tar as stored (compressed or not) */
  tarPath: string;
  /** pg_basebackup's backup_manifest, which pg_verifybackup reads */
  manifestPath: string;
  /** stored bytes read and checked */
  bytes: number;
  /** true when the files were downloaded into the staging folder */
  staged: boolean;
  /** the base tar, read in place and not yet checked: the lay-down hashes it as it reads it (checkTarRead) */
  tarUnchecked?: { key: string; expected: ManifestFile };
  /** removes the staging folder; nothing for files read in place */
  cleanup(): Promise<void>;
}

const DAMAGED_HINT = 'the base backup is damaged: recover from another one (--backup ID, pgops backups list), and find out what changed the file (pgops verify)';

// The staging folder of one recovery: beside pgdata, so that the download and the data directory share a disk.
export function stagingFolder(pgdata: string, backupId: string): string {
  return path.join(path.dirname(pgdata), `.pgops-recover-${backupId}-${process.pid}`);
}

// The listed file of a base backup, by name; a manifest that does not list it is damaged.
function listed(b: CompleteBaseBackup, name: string): ManifestFile {
  const f = b.manifest.files.find((x) => x.path === name);
  if (!f) throw new PgopsError(`base backup ${b.id} is damaged: its manifest does not list ${name}, and an unlisted file is never read`, { code: ExitCode.INTEGRITY, hint: DAMAGED_HINT });
  return f;
}

function compare(key: string, expected: ManifestFile, actual: { sha256: string; size: number }, outcome = 'nothing was laid down'): void {
  if (actual.sha256 === expected.sha256 && actual.size === expected.size) return;
  throw new PgopsError(`checksum mismatch in ${key}: the manifest lists sha256 ${expected.sha256} (${expected.size} bytes), the stored file has ${actual.sha256} (${actual.size} bytes); ${outcome}`, {
    code: ExitCode.INTEGRITY,
    hint: DAMAGED_HINT,
  });
}

// Compares what the lay-down read of a tar it was handed unchecked with the manifest; throws the checksum mismatch
// (the lay-down removes what it laid down).
export function checkTarRead(unchecked: NonNullable<FetchedBackup['tarUnchecked']>, actual: { sha256: string; size: number }): void {
  compare(unchecked.key, unchecked.expected, actual, 'what was laid down from it was removed');
}

// Whether a stored tar whose lay-down failed matches its manifest: the checksum mismatch when not (the real cause of
// a tar or decompressor error), else undefined.
export async function tarMismatch(repo: Repo, unchecked: NonNullable<FetchedBackup['tarUnchecked']>, signal: AbortSignal): Promise<PgopsError | undefined> {
  try {
    checkTarRead(unchecked, await readHashed(repo, unchecked.key, discardSink(), signal, () => {}));
    return undefined;
  } catch (err) {
    if (err instanceof PgopsError && err.code === ExitCode.INTEGRITY) return err;
    throw err;
  }
}

// A file the manifest lists that the repository lacks: a damaged backup.
function listedButMissing(key: string, repo: Repo): PgopsError {
  return new PgopsError(`${key} is listed in the base backup's manifest but missing from ${repo.url}`, { code: ExitCode.INTEGRITY, hint: DAMAGED_HINT });
}

// Reads key through a hash into sink; a key the repository lacks is a damaged backup.
async function readHashed(repo: Repo, key: string, sink: NodeJS.WritableStream, signal: AbortSignal, onBytes: (n: number) => void, sealed?: ManifestFile['sealed']): Promise<{ sha256: string; size: number }> {
  let body;
  try {
    body = await repo.get(key, { sealed });
  } catch (err) {
    if (err instanceof NotFoundError) throw listedButMissing(key, repo);
    throw err;
  }
  const counter = new HashCounter(onBytes);
  await pipeline(body, counter, sink, { signal });
  return { sha256: counter.digest(), size: counter.bytes };
}

// Checks (and, from a remote repository, downloads) the base tar and backup_manifest of a base backup; throws
// INTEGRITY (exit 6) naming the file and both hashes when one differs, with the staging folder removed again.
export async function fetchBaseBackup(repo: Repo, b: CompleteBaseBackup, o: { staging: string; signal: AbortSignal; onProgress?: (bytes: number) => void }): Promise<FetchedBackup> {
  const prefix = basebackupPrefix(b.systemIdentifier, b.id);
  const files = [listed(b, baseTarName(b.manifest.compression)), listed(b, BACKUP_MANIFEST_FILE)];
  let done = 0;
  const progress = (n: number) => o.onProgress?.(done + n);
  const local = files.map((f) => repo.localPath(prefix + f.path));
  if (local.every((p): p is string => p !== undefined)) {
    const [tar, manifest] = files;
    o.signal.throwIfAborted();
    compare(prefix + manifest.path, manifest, await readHashed(repo, prefix + manifest.path, discardSink(), o.signal, progress));
    const size = await fs.stat(local[0]).then(
      (st) => st.size,
      () => undefined,
    );
    if (size === undefined) throw listedButMissing(prefix + tar.path, repo);
    // a size that differs needs no read to tell
    if (size !== tar.size) compare(prefix + tar.path, tar, { sha256: '(not read: the size differs)', size });
    return { tarPath: local[0], manifestPath: local[1], bytes: manifest.size, staged: false, tarUnchecked: { key: prefix + tar.path, expected: tar }, cleanup: async () => {} };
  }
  // a folder of this name is a crashed run's of the same pid: ours to replace
  await fs.rm(o.staging, { recursive: true, force: true });
  await fs.mkdir(o.staging, { mode: 0o700 });
  const cleanup = () => fs.rm(o.staging, { recursive: true, force: true });
  try {
    const paths: string[] = [];
    for (const f of files) {
      o.signal.throwIfAborted();
      const dest = path.join(o.staging, f.path);
      compare(prefix + f.path, f, await readHashed(repo, prefix + f.path, createWriteStream(dest, { flags: 'wx', mode: 0o600 }), o.signal, progress, f.sealed));
      done += f.size;
      paths.push(dest);
    }
    return { tarPath: paths[0], manifestPath: paths[1], bytes: done, staged: true, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
