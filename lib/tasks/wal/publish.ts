import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError } from '../../errors.ts';
import { abortable } from '../../repo/abortable.ts';
import { discardSink, HashCounter } from '../../repo/hashing.ts';
import { keyless, SealedRepo } from '../../repo/sealed.ts';
import { dataKey, sidecarKey, type Compression } from '../../repo/layout.ts';
import { hashFile, readFromStart, type Digest } from '../../repo/open-file.ts';
import { AlreadyExistsError, NotFoundError, type PutResult, type Repo } from '../../repo/repo.ts';
import { encodeSidecar, SIDECAR_FORMAT, type Sidecar } from '../../repo/wal-sidecar.ts';
import { hashStored, readArchived, readSidecar } from './archived.ts';
import { compressor } from './compression.ts';
import { archivedDifferently, replacedAfterPublish, replacedArchived, storedDifferently } from './conflict.ts';

// How wal push publishes one WAL file: the data object, then the sidecar (the commit), each with ifAbsent, so that a
// publish never overwrites. Of pushes racing for one name with different content, one wins and every other gets the
// "different file" error; pushes of the same content all succeed, with one stored copy. Where the store's ifAbsent is
// not atomic (exclusiveCreate false: an S3 store without conditional writes), the push reads back what it published.

// One wal push: the open file and where it goes.
export interface PushRequest {
  repo: Repo;
  systemId: string;
  handle: fs.FileHandle;
  /** the file's path, for messages */
  file: string;
  name: string;
  size: number;
  compression: Compression;
  now: Date;
  signal: AbortSignal;
}

export interface Pushed {
  sidecar: Sidecar;
  again: boolean;
  repaired: boolean;
}

// The file is archived already (its sidecar was there): success when it is the same file, the "different file"
// error otherwise. A missing data object is put back; on a store without conditional writes, one that no longer
// matches its sidecar too (a racing writer may have replaced it; the sidecar vouches for this file's content).
export async function pushAgain(req: PushRequest, existing: Sidecar): Promise<Pushed> {
  const { repo, systemId, signal } = req;
  const local = await hashFile(req.handle);
  if (local.sha256 !== existing.sha256 || local.size !== existing.size) throw archivedDifferently(repo.url, existing.name, existing, local);
  const key = dataKey(systemId, existing.name, existing.compression);
  if (repo.exclusiveCreate) {
    if (await abortable(repo.exists(key), signal)) return { sidecar: existing, again: true, repaired: false };
    const put = await publishData(req, key, existing.compression);
    return { sidecar: await resealed(req, existing, put.sidecar.sealed), again: true, repaired: true };
  }
  try {
    await readPublished(repo, systemId, existing, signal);
    return { sidecar: existing, again: true, repaired: false };
  } catch (err) {
    if (!(err instanceof PgopsError) || err.code !== ExitCode.INTEGRITY) throw err;
  }
  const body = await storedBody(req.handle, existing.compression, existing.size);
  const put = await repo.put(key, body.body, { signal });
  await failedFeed(body);
  return { sidecar: await resealed(req, existing, put.sealed), again: true, repaired: true };
}

// In an encrypted repository a data object put back is a new age file of the same content: its sidecar is written
// again with that file's digest (the one deliberate overwrite of a sidecar), else verify would call it damaged.
async function resealed(req: PushRequest, existing: Sidecar, sealed: Digest | undefined): Promise<Sidecar> {
  if (!sealed) return existing;
  const sidecar: Sidecar = { ...existing, sealed: { size: sealed.size, sha256: sealed.sha256 } };
  await req.repo.putBytes(sidecarKey(req.systemId, existing.name), encodeSidecar(sidecar), { signal: req.signal });
  return sidecar;
}

// Archives a file that was not archived when the push looked: the data object (compressed or not), then the sidecar,
// in one publishMarked (a file repository copies the file and writes the sidecar beside it in one pass).
export async function pushNew(req: PushRequest): Promise<Pushed> {
  const { repo, systemId, name, compression } = req;
  const key = dataKey(systemId, name, compression);
  const mine = await vanishedAgain(() => publishWithSidecar(req, key));
  const pushed = mine.markerExisted ? await settleOnSidecar(req, mine.sidecar, mine.created) : { sidecar: mine.sidecar, again: false, repaired: false };
  if (!repo.exclusiveCreate) await readBack(req, pushed.sidecar);
  return pushed;
}

// One try of pushNew's publish: the data object with its sidecar. A data object there already is accepted when it
// holds this file's content (a racing push of this name, or a crashed one); the sidecar is then made for it.
async function publishWithSidecar(req: PushRequest, key: string): Promise<{ sidecar: Sidecar; created: boolean; markerExisted: boolean }> {
  const { repo, compression, signal } = req;
  const zipped = compression === 'none' ? undefined : await storedBody(req.handle, compression, req.size);
  // the compressor's feed must end before the file is read again, or this push gives up
  const stopFeed = async () => {
    if (!zipped) return;
    zipped.body.destroy();
    await zipped.feed;
  };
  let existing: { local: { size: number; sha256: string }; storedSize: number } | undefined;
  let sidecar: Sidecar | undefined;
  try {
    const done = await repo.publishMarked({
      key,
      body: zipped ? zipped.body : { handle: req.handle, path: req.file, disk: 'the disk of pg_wal' },
      markerKey: sidecarKey(req.systemId, req.name),
      signal,
      onExists: async (written) => {
        await stopFeed();
        // uncompressed, what this push copied is the file: no need to read it again
        existing = await acceptStored(req, key, compression, !zipped ? written : undefined);
      },
      markerText: async (written, sealed) => {
        if (written) {
          if (zipped) await failedFeed(zipped);
          sidecar = sidecarFor(req, key, contentOf(zipped, written), written.size, compression, sealed);
        } else {
          // onExists accepted the data object there: this sidecar vouches for it
          sidecar = sidecarFor(req, key, { bytes: existing!.local.size, sha256: existing!.local.sha256 }, existing!.storedSize, compression, sealed);
        }
        return encodeSidecar(sidecar);
      },
    });
    return { sidecar: sidecar!, ...done };
  } catch (err) {
    await stopFeed();
    throw err;
  }
}

// Runs a publish again when the data object it found vanished while it was compared (its creator lost the sidecar
// to another compression and took it back): the next try publishes its own.
async function vanishedAgain<T>(publish: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await publish();
    } catch (err) {
      if (!(err instanceof NotFoundError) || attempt >= 3) throw err;
    }
  }
}

// Publishes the data object alone with ifAbsent (pushAgain puts a missing one back); one that is there already is
// accepted when it holds this file's content. Returns the sidecar for it, and whether this push created it.
async function publishData(req: PushRequest, key: string, compression: Compression): Promise<{ sidecar: Sidecar; created: boolean }> {
  const { repo, signal } = req;
  const body = await storedBody(req.handle, compression, req.size);
  let stored: PutResult;
  try {
    stored = await repo.put(key, body.body, { signal, ifAbsent: true });
  } catch (err) {
    body.body.destroy();
    await body.feed;
    if (!(err instanceof AlreadyExistsError)) throw err;
    const { local, storedSize } = await acceptStored(req, key, compression);
    return { sidecar: sidecarFor(req, key, { bytes: local.size, sha256: local.sha256 }, storedSize, compression, await sealedDigest(repo, key)), created: false };
  }
  try {
    await failedFeed(body);
    return { sidecar: sidecarFor(req, key, contentOf(body, stored), stored.size, compression, stored.sealed), created: true };
  } catch (err) {
    // this push created it, and no sidecar names it: take it back (where the credential may delete; the error to
    // report is the one that refused the push)
    await repo.delete([key]).catch(() => {});
    throw err;
  }
}

// A data object found under key (a racing push of this name, or a crashed one) is accepted when it holds this file's
// content, else the push is refused naming both. copied: this file's size and hash, when the push has them already.
async function acceptStored(req: PushRequest, key: string, compression: Compression, copied?: Digest): Promise<{ local: Digest; storedSize: number }> {
  if (keyless(req.repo)) throw leftoverSealed(req.repo.url, req.name, path.basename(key));
  const found = await hashStored(req.repo, key, compression, req.signal);
  const local = copied ?? (await hashFile(req.handle));
  if (found.sha256 !== local.sha256 || found.size !== local.size) throw storedDifferently(req.repo.url, req.name, path.basename(key), found, local);
  return { local, storedSize: found.storedSize };
}

// What a sidecar says of the content: the compressor's count of what it read, or, uncompressed, the stored bytes' own
// size and hash (they are the file).
function contentOf(body: StoredBody | undefined, stored: Digest): { bytes: number; sha256: string } {
  return body?.content ? { bytes: body.content.bytes, sha256: body.content.digest() } : { bytes: stored.size, sha256: stored.sha256 };
}

// The sidecar was there when this push came to write its own: the same file is success, another the refusal. A data
// object this push created that the winning sidecar does not name (another compression) is removed again, so that
// the folder holds no plain copy of a file that is not the archived one.
async function settleOnSidecar(req: PushRequest, mine: Sidecar, created: boolean): Promise<Pushed> {
  const { repo, systemId, name } = req;
  const existing = await abortable(readSidecar(repo, systemId, name), req.signal);
  if (!existing) {
    throw new PgopsError(`${sidecarKey(systemId, name)} in ${repo.url} existed a moment ago and is gone: something deletes in the WAL folder while pushes run`, {
      code: ExitCode.FAILED,
      hint: 'PostgreSQL retries archive_command; find what deletes archived WAL (a prune of WAL? a hand-run clean-up?)',
    });
  }
  if (existing.sha256 === mine.sha256 && existing.size === mine.size) return { sidecar: existing, again: true, repaired: false };
  const key = dataKey(systemId, name, mine.compression);
  if (created && existing.stored !== mine.stored) await repo.delete([key]).catch(() => {});
  if (created && existing.stored === mine.stored && !repo.exclusiveCreate) {
    // the store does not refuse overwrites: this push's put may have landed over the winner's data object
    const now = await hashStored(repo, key, mine.compression, req.signal).catch(() => undefined);
    if (now?.sha256 === mine.sha256) {
      await repo.delete([key]).catch(() => {});
      throw replacedArchived(repo.url, name, existing, mine);
    }
  }
  throw archivedDifferently(repo.url, name, existing, mine);
}

// Where ifAbsent is not atomic: the data object must hold this file and the sidecar must be this file's, read after
// publishing (the data first, the commit last). Either replaced by a racing writer is a failure, never a success.
async function readBack(req: PushRequest, mine: Sidecar): Promise<void> {
  const { repo, systemId, name } = req;
  for (let attempt = 1; ; attempt++) {
    try {
      await readPublished(repo, systemId, mine, req.signal);
      break;
    } catch (err) {
      if (err instanceof PgopsError && err.code === ExitCode.INTEGRITY) throw replacedAfterPublish(repo.url, mine.stored, mine);
      // a read cut off mid-transfer (some stores cut the reads of an object another writer replaces) is read again
      if (req.signal.aborted || attempt >= 3) throw err;
    }
  }
  const final = await abortable(readSidecar(repo, systemId, name), req.signal);
  if (!final) throw replacedAfterPublish(repo.url, path.basename(sidecarKey(systemId, name)), mine);
  if (final.sha256 !== mine.sha256 || final.size !== mine.size || final.stored !== mine.stored) {
    throw archivedDifferently(repo.url, name, final, mine);
  }
}

// Proves the data object holds what the sidecar s vouches for: decompressed and hashed, or, by a writer of an
// encrypted repository, the stored age file against s.sealed. Throws INTEGRITY (exit 6) when it does not.
async function readPublished(repo: Repo, systemId: string, s: Sidecar, signal: AbortSignal): Promise<void> {
  if (!keyless(repo) || !s.sealed) return readArchived(repo, systemId, s, discardSink(), signal);
  const key = dataKey(systemId, s.name, s.compression);
  const stored = await abortable(repo.storedDigest(key), signal);
  if (stored.sha256 !== s.sealed.sha256 || stored.size !== s.sealed.size) {
    throw new PgopsError(`${key} in ${repo.url} is not the age file its sidecar lists (sha256 ${stored.sha256}, ${stored.size} bytes; listed ${s.sealed.sha256}, ${s.sealed.size} bytes)`, { code: ExitCode.INTEGRITY });
  }
}

// In an encrypted repository a data object without its sidecar (a crashed push's) cannot be compared with this file
// by a writer, which holds no key: nothing vouches for it, and nothing is overwritten.
function leftoverSealed(repoUrl: string, name: string, stored: string): PgopsError {
  return new PgopsError(`${name} is already stored in ${repoUrl} as ${stored}, without its sidecar, and this writer holds no key to compare it with this file: nothing was overwritten`, {
    code: ExitCode.FAILED,
    hint: `an earlier push crashed between the data object and its sidecar (or another server archives this name now): no sidecar vouches for ${stored}, so it is not archived; once no other server archives here, remove it (keep a copy until you know) and the next try of archive_command archives this file`,
  });
}

// The sidecar of this file as stored under key; refuses a file that changed while it was read.
function sidecarFor(req: PushRequest, key: string, content: { bytes: number; sha256: string }, storedSize: number, compression = req.compression, sealed?: Digest): Sidecar {
  if (content.bytes !== req.size) {
    throw new PgopsError(`${req.name} changed while it was archived: ${content.bytes} bytes read, ${req.size} expected`, { code: ExitCode.FAILED, hint: 'nothing was archived; PostgreSQL retries archive_command' });
  }
  return {
    format: SIDECAR_FORMAT,
    version: 1,
    name: req.name,
    systemIdentifier: req.systemId,
    size: req.size,
    sha256: content.sha256,
    compression,
    stored: path.basename(key),
    storedSize,
    ...(sealed ? { sealed: { size: sealed.size, sha256: sealed.sha256 } } : {}),
    pushedAt: req.now.toISOString(),
  };
}

// The stored age file's digest of an object another writer put, in an encrypted repository (undefined elsewhere).
async function sealedDigest(repo: Repo, key: string): Promise<Digest | undefined> {
  return repo instanceof SealedRepo ? repo.storedDigest(key) : undefined;
}

interface StoredBody {
  body: Readable;
  /** the uncompressed content's hash, when the body is compressed */
  content?: HashCounter;
  /** the compressor's feed: resolves with its error, never rejects */
  feed: Promise<unknown>;
}

// The bytes to store: the file itself, or the file through a content hash and a compressor.
async function storedBody(handle: fs.FileHandle, compression: Compression, size: number): Promise<StoredBody> {
  const source = readFromStart(handle);
  const zip = await compressor(compression, size);
  if (!zip) return { body: source, feed: Promise.resolve() };
  const content = new HashCounter();
  const feed = pipeline(source, content, zip).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  return { body: zip, content, feed };
}

// Throws the compressor feed's error, if it had one.
async function failedFeed(body: StoredBody): Promise<void> {
  const fed = await body.feed;
  if (fed instanceof Error) throw fed;
}
