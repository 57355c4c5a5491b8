import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
// temp files carry FileRepo's mark, so that listings and clean-ups treat them alike
import { syncDir, tempBeside } from '../../repo/file.ts';

// 1 MB reads and writes (as pgBackRest's buffer): on Linux, 2 MB and larger buffers made the copy of a segment more
// than twice as slow (bench:wal), smaller ones add system calls.
const CHUNK = 1024 * 1024;
// How much a copy writes between two fdatasync calls that start the disk on it (archiveLocally).
const FLUSH_BYTES = 2 * CHUNK;

// Fills a temp file beside target, fsyncs it, renames it into place and fsyncs the folder, the way FileRepo.put
// writes; on any failure or abort the temp file is removed.
async function writeDurably(target: string, fill: (out: fs.FileHandle) => Promise<unknown>): Promise<void> {
  const temp = tempBeside(target);
  const out = await fs.open(temp, 'wx', 0o640);
  try {
    await fill(out);
    await out.sync();
    await out.close();
    await fs.rename(temp, target);
  } catch (err) {
    await out.close().catch(() => {});
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDir(path.dirname(target));
}

export interface Copied {
  size: number;
  sha256: string;
}

// Archives an open file into a local repository: a durable copy at target, then a small file at marker in the same
// folder (the sidecar, the commit marker) whose text is made from the copy's size and hash; marker may throw to
// refuse the copy, and then nothing stays behind. Both go through temp files; the marker is renamed into place after
// the copy, and one fsync of the folder makes both renames durable.
//
// archive_command runs once per segment, so the work overlaps: while chunk n is hashed (on this thread) and written
// (on libuv's pool), chunk n+1 is read; every FLUSH_BYTES an fdatasync, one at a time, starts the disk on what is
// written so far, so that the final fsync has little left to wait for (PostgreSQL's checkpointer does the like with
// sync_file_range); and the marker is written and fsynced while the copy's last data reach the disk. On bench:wal's
// machine, a plain loop doing one step after the other, then the marker, took 31 ms for a 16 MB segment; this 17 ms.
export async function archiveLocally(source: fs.FileHandle, target: string, marker: { path: string; text: (copied: Copied) => string }, signal?: AbortSignal): Promise<Copied> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const temps = [tempBeside(target), tempBeside(marker.path)];
  const opened = await Promise.allSettled(temps.map((t) => fs.open(t, 'wx', 0o640)));
  const handles = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const open = new Set(handles);
  // closes what is still open and removes both temp files: nothing stays behind a failure
  const discard = async () => {
    await Promise.allSettled([...open].map((h) => h.close()));
    await Promise.allSettled(temps.map((t) => fs.rm(t, { force: true })));
  };
  const refused = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refused) {
    await discard();
    throw refused.reason;
  }
  const [out, markerOut] = handles;
  const close = async (handle: fs.FileHandle) => {
    open.delete(handle);
    await handle.close();
  };
  let flushed: Promise<unknown> = Promise.resolve();
  try {
    const copy = await hashedCopy(source, out, signal);
    flushed = copy.flushed;
    const copied = copy.copied;
    const text = marker.text(copied);
    // the copy's last fsync and the marker's write run side by side; the marker's rename waits for both
    const settled = await Promise.allSettled([
      (async () => {
        await flushed;
        await out.sync();
        await close(out);
        await fs.rename(temps[0], target);
      })(),
      (async () => {
        await markerOut.writeFile(text);
        await markerOut.sync();
        await close(markerOut);
      })(),
    ]);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await fs.rename(temps[1], marker.path);
    await syncDir(path.dirname(marker.path));
    return copied;
  } catch (err) {
    await Promise.allSettled([flushed]);
    await discard();
    throw err;
  }
}

// Copies source into out while hashing it (archiveLocally); resolves when every byte is written, with a promise for
// the fdatasync calls still running.
async function hashedCopy(source: fs.FileHandle, out: fs.FileHandle, signal?: AbortSignal): Promise<{ copied: Copied; flushed: Promise<unknown> }> {
  const hash = createHash('sha256');
  // three buffers: one being read, one being written, one free for the next read
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let size = 0;
  let written: Promise<unknown> = Promise.resolve();
  let flushing: Promise<unknown> = Promise.resolve();
  let inFlight = false;
  let reading = source.read(buffers[0], 0, CHUNK, 0);
  try {
    for (let n = 1; ; n++) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      signal?.throwIfAborted();
      size += bytesRead;
      reading = source.read(buffers[n % 3], 0, CHUNK, size);
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

// Writes small contents (a sidecar) into a local repository file the same durable way.
export async function durableWrite(target: string, data: string | Buffer): Promise<void> {
  await writeDurably(target, (out) => out.writeFile(data));
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
