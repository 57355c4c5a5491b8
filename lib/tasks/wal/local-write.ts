import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
// temp files carry FileRepo's mark, so that listings and clean-ups treat them alike
import { TEMP_MARK, syncDir } from '../../repo/file.ts';

// 1 MB reads and writes (as pgBackRest's buffer): on Linux, 2 MB and larger buffers made the copy of a segment more
// than twice as slow (bench:wal), smaller ones add system calls.
const CHUNK = 1024 * 1024;

// Fills a temp file beside target, fsyncs it, renames it into place and fsyncs the folder, the way FileRepo.put
// writes; on any failure or abort the temp file is removed.
async function writeDurably<T>(target: string, fill: (out: fs.FileHandle) => Promise<T>): Promise<T> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `${TEMP_MARK}${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const out = await fs.open(temp, 'wx', 0o640);
  let result: T;
  try {
    result = await fill(out);
    await out.sync();
    await out.close();
    await fs.rename(temp, target);
  } catch (err) {
    await out.close().catch(() => {});
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDir(dir);
  return result;
}

// Copies an open file into a local repository file durably (writeDurably), hashing it on the way; archive_command
// runs once per segment, and a plain read/write loop is markedly cheaper than a stream pipeline.
export async function durableCopy(source: fs.FileHandle, target: string, signal?: AbortSignal): Promise<{ size: number; sha256: string }> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  return writeDurably(target, async (out) => {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await source.read(buf, 0, CHUNK, size);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      await out.write(buf, 0, bytesRead);
      size += bytesRead;
    }
    return { size, sha256: hash.digest('hex') };
  });
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
