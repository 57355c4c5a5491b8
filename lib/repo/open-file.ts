import { createHash } from 'node:crypto';
import type fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Encoder } from '../age/index.ts';
import { fsError } from './fs-errors.ts';

// Reading an open file from its start, at positions (never by the handle's own file position, so that it can be read
// again): as a stream, for its hash, or copied into another file while hashing.

// 1 MB reads and writes (as pgBackRest's buffer): on Linux, 2 MB and larger buffers made the copy of a segment more
// than twice as slow (bench:wal), smaller ones add system calls.
export const CHUNK = 1024 * 1024;
// How much a copy writes between two fdatasync calls that start the disk on it (copyHashed).
const FLUSH_BYTES = 2 * CHUNK;

// Size and sha256 of bytes read or written.
export interface Digest {
  size: number;
  sha256: string;
}

// An open file to publish, read from its start: path and disk name it in messages ("the disk of pg_wal").
export interface OpenFile {
  handle: fs.FileHandle;
  path: string;
  disk?: string;
}

// A stream of an open file from its start, read at positions: destroying it leaves the file open (a FileHandle's own
// read stream closes the handle when destroyed, whatever autoClose says), so that the file can be read again.
export function readFromStart(source: fs.FileHandle): Readable {
  let position = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      const buf = Buffer.allocUnsafe(CHUNK);
      source.read(buf, 0, CHUNK, position).then(
        ({ bytesRead }) => {
          position += bytesRead;
          this.push(bytesRead ? buf.subarray(0, bytesRead) : null);
        },
        (err: unknown) => this.destroy(err as Error),
      );
    },
  });
}

// sha256 and size of an open file, read in large chunks from its start.
export async function hashFile(source: fs.FileHandle): Promise<Digest> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  let size = 0;
  for (;;) {
    const { bytesRead } = await source.read(buf, 0, CHUNK, size);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    size += bytesRead;
  }
  return { size, sha256: hash.digest('hex') };
}

// Copies source from its start into out while hashing it; resolves when every byte is written, with a promise for the
// fdatasync calls still running (the caller awaits it before its fsync). While chunk n is hashed (on this thread) and
// written (on libuv's pool), chunk n+1 is read; every FLUSH_BYTES an fdatasync, one at a time, starts the disk on
// what is written so far, so that the final fsync has little left to wait for (PostgreSQL's checkpointer does the
// like with sync_file_range). A failed read is named as the source's (its own path and disk), a failed write is
// returned as it is, for the caller to name.
//
// encode: an encrypted repository's encryptor (lib/age createEncoder): what is written is then the age file of the
// source, one piece per chunk read; copied stays the source's digest, stored is the age file's.
export async function copyHashed(source: OpenFile, out: fs.FileHandle, signal?: AbortSignal, encode?: Encoder): Promise<{ copied: Digest; stored?: Digest; flushed: Promise<unknown> }> {
  const readAt = (buf: Buffer, position: number) =>
    awaitedLater(
      source.handle.read(buf, 0, CHUNK, position).catch((err: unknown) => {
        throw fsError(err, { action: 'reading', path: source.path, disk: source.disk });
      }),
    );
  const hash = createHash('sha256');
  const storedHash = encode ? createHash('sha256') : undefined;
  let storedSize = 0;
  // what is written of a chunk read: the chunk itself, or its encryption (a buffer of its own, never a read buffer)
  const written = (plain: Buffer): Buffer => {
    if (!encode) return plain;
    const sealed = encode.update(plain);
    storedHash!.update(sealed);
    storedSize += sealed.length;
    return sealed;
  };
  // three buffers: one being read, one being written, one free for the next read
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let size = 0;
  let writing: Promise<unknown> = Promise.resolve();
  let flushing: Promise<unknown> = Promise.resolve();
  let inFlight = false;
  let reading = readAt(buffers[0], 0);
  try {
    for (let n = 1; ; n++) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      signal?.throwIfAborted();
      size += bytesRead;
      reading = readAt(buffers[n % 3], size);
      await writing;
      // one fdatasync at a time, and none queued behind it: the next one takes all written by then
      if ((n * CHUNK) % FLUSH_BYTES === 0 && !inFlight) {
        inFlight = true;
        flushing = awaitedLater(out.datasync().finally(() => (inFlight = false)));
      }
      const plain = buffer.subarray(0, bytesRead);
      const bytes = written(plain);
      writing = awaitedLater(writeAll(out, bytes, bytes.length));
      hash.update(plain);
    }
    await writing;
    if (encode) {
      const last = encode.final();
      storedHash!.update(last);
      storedSize += last.length;
      await writeAll(out, last, last.length);
    }
  } catch (err) {
    // never close the files under a read, write or flush still in flight
    await Promise.allSettled([reading, writing, flushing]);
    throw err;
  }
  return { copied: { size, sha256: hash.digest('hex') }, ...(storedHash ? { stored: { size: storedSize, sha256: storedHash.digest('hex') } } : {}), flushed: flushing };
}

// A promise that runs while the copy awaits another (a write during the next read): its failure is seen when the copy
// awaits it, and must not count as unhandled meanwhile (Node 24 reported a full disk's ENOSPC so, mid-copy).
function awaitedLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

// Writes the first `length` bytes of buf at the file's position, however many calls that takes.
async function writeAll(out: fs.FileHandle, buf: Buffer, length: number): Promise<void> {
  for (let offset = 0; offset < length; ) offset += (await out.write(buf, offset, length - offset)).bytesWritten;
}
