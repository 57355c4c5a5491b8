import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fsError, type FsErrorContext } from '../../repo/fs-errors.ts';
// temp files carry FileRepo's mark, so that listings and clean-ups treat them alike
import { linkNew, syncDir, tempBeside } from '../../repo/file.ts';

// 1 MB reads and writes (as pgBackRest's buffer): on Linux, 2 MB and larger buffers made the copy of a segment more
// than twice as slow (bench:wal), smaller ones add system calls.
const CHUNK = 1024 * 1024;
// How much a copy writes between two fdatasync calls that start the disk on it (archiveLocally).
const FLUSH_BYTES = 2 * CHUNK;

export interface Copied {
  size: number;
  sha256: string;
}

// How archiveLocally ended: what it copied, and which of its two names existed already.
export interface LocalArchive {
  copied: Copied;
  /** target existed, and onTargetExists accepted it (the same content): the marker was published beside it */
  targetExisted: boolean;
  /** the marker existed: this copy's marker was not published; the caller reads the one there */
  markerExisted: boolean;
}

export interface LocalArchiveOptions {
  /** the source's path, for messages */
  sourcePath: string;
  /** called when target exists already, with this copy's size and hash: throws to refuse (nothing is published) */
  onTargetExists: (copied: Copied) => Promise<void>;
  signal?: AbortSignal;
}

// Archives an open file into a local repository without overwriting anything: a durable copy at target, then a small
// file at marker in the same folder (the sidecar, the commit marker) whose text is made from the copy's size and
// hash; marker may throw to refuse the copy, and then nothing stays behind. Both are written to temp files and
// linked into place (link(2) fails where the name exists, where rename would replace it: of pushes racing for one
// name, one publishes each file); one fsync of the folder makes both links and the temp files' removal durable.
//
// archive_command runs once per segment, so the work overlaps: while chunk n is hashed (on this thread) and written
// (on libuv's pool), chunk n+1 is read; every FLUSH_BYTES an fdatasync, one at a time, starts the disk on what is
// written so far, so that the final fsync has little left to wait for (PostgreSQL's checkpointer does the like with
// sync_file_range); and the marker is written and fsynced while the copy's last data reach the disk. On bench:wal's
// machine, a plain loop doing one step after the other, then the marker, took 31 ms for a 16 MB segment; this 17 ms.
export async function archiveLocally(source: fs.FileHandle, target: string, marker: { path: string; text: (copied: Copied) => string }, opts: LocalArchiveOptions): Promise<LocalArchive> {
  const where: FsErrorContext = { action: 'writing', path: target };
  const temps = [tempBeside(target), tempBeside(marker.path)];
  const open = new Set<fs.FileHandle>();
  // closes what is still open and removes both temp files: nothing stays behind a failure
  const discard = async () => {
    await Promise.allSettled([...open].map((h) => h.close()));
    await Promise.allSettled(temps.map((t) => fs.rm(t, { force: true })));
  };
  const close = async (handle: fs.FileHandle) => {
    open.delete(handle);
    await handle.close();
  };
  let flushed: Promise<unknown> = Promise.resolve();
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
    const opened = await Promise.allSettled(temps.map((t) => fs.open(t, 'wx', 0o640)));
    for (const r of opened) if (r.status === 'fulfilled') open.add(r.value);
    const refused = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (refused) throw refused.reason;
    const [out, markerOut] = opened.map((r) => (r as PromiseFulfilledResult<fs.FileHandle>).value);
    const copy = await hashedCopy(source, out, opts);
    flushed = copy.flushed;
    const copied = copy.copied;
    const text = marker.text(copied);
    // the copy's last fsync and the marker's write run side by side; the links wait for both
    const settled = await Promise.allSettled([
      (async () => {
        await flushed;
        await out.sync();
        await close(out);
      })(),
      (async () => {
        await markerOut.writeFile(text);
        await markerOut.sync();
        await close(markerOut);
      })(),
    ]);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const targetExisted = !(await linkNew(temps[0], target));
    if (targetExisted) await opts.onTargetExists(copied);
    const markerExisted = !(await linkNew(temps[1], marker.path));
    await Promise.all(temps.map((t) => fs.unlink(t)));
    await syncDir(path.dirname(marker.path));
    return { copied, targetExisted, markerExisted };
  } catch (err) {
    await Promise.allSettled([flushed]);
    await discard();
    throw fsError(err, where);
  }
}

// Copies source into out while hashing it (archiveLocally); resolves when every byte is written, with a promise for
// the fdatasync calls still running.
async function hashedCopy(source: fs.FileHandle, out: fs.FileHandle, opts: LocalArchiveOptions): Promise<{ copied: Copied; flushed: Promise<unknown> }> {
  const { signal } = opts;
  // a failed read is the WAL file's, not the repository's: named here, so that the caller's mapping keeps it
  const readAt = (buf: Buffer, position: number) =>
    source.read(buf, 0, CHUNK, position).catch((err: unknown) => {
      throw fsError(err, { action: 'reading', path: opts.sourcePath, disk: 'the disk of pg_wal' });
    });
  const hash = createHash('sha256');
  // three buffers: one being read, one being written, one free for the next read
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let size = 0;
  let written: Promise<unknown> = Promise.resolve();
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
      await written;
      // one fdatasync at a time, and none queued behind it: the next one takes all written by then
      if ((n * CHUNK) % FLUSH_BYTES === 0 && !inFlight) {
        inFlight = true;
        flushing = out.datasync().finally(() => (inFlight = false));
      }
      written = writeAll(out, buffer, bytesRead);
      hash.update(buffer.subarray(0, bytesRead));
    }
    await written;
  } catch (err) {
    // never close the files under a read, write or flush still in flight
    await Promise.allSettled([reading, written, flushing]);
    throw err;
  }
  return { copied: { size, sha256: hash.digest('hex') }, flushed: flushing };
}

// Writes the first `length` bytes of buf at the file's position, however many calls that takes.
async function writeAll(out: fs.FileHandle, buf: Buffer, length: number): Promise<void> {
  for (let offset = 0; offset < length; ) offset += (await out.write(buf, offset, length - offset)).bytesWritten;
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
export async function hashFile(source: fs.FileHandle): Promise<{ size: number; sha256: string }> {
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
