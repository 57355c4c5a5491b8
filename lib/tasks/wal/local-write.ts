import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { syncDir } from '../../repo/file.ts';

// Temp files carry the mark FileRepo uses, so that listings and clean-ups treat them alike (lib/repo/file.ts).
const TEMP_MARK = '.pgops-tmp-';
// 1 MB reads and writes (as pgBackRest's buffer): on Linux, 2 MB and larger buffers made the copy of a segment more
// than twice as slow (bench:wal), smaller ones add system calls.
const CHUNK = 1024 * 1024;

// Copies an open file into a local repository file the way FileRepo.put writes (temp file, fsync, rename, fsync of
// the folder), hashing it on the way; archive_command runs once per segment, and a plain read/write loop is
// markedly cheaper than a stream pipeline. Removes the temp file on any failure or abort.
export async function durableCopy(source: fs.FileHandle, target: string, signal?: AbortSignal): Promise<{ size: number; sha256: string }> {
  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true });
  const temp = path.join(dir, `${TEMP_MARK}${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const out = await fs.open(temp, 'wx', 0o640);
  const hash = createHash('sha256');
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await source.read(buf, 0, CHUNK, size);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      await out.write(buf, 0, bytesRead);
      size += bytesRead;
    }
    await out.sync();
    await out.close();
    await fs.rename(temp, target);
  } catch (err) {
    await out.close().catch(() => {});
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDir(dir);
  return { size, sha256: hash.digest('hex') };
}

// Writes small contents (a sidecar) into a local repository file the same durable way.
export async function durableWrite(target: string, data: string | Buffer): Promise<void> {
  const dir = path.dirname(target);
  const temp = path.join(dir, `${TEMP_MARK}${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const out = await fs.open(temp, 'wx', 0o640);
  try {
    await out.writeFile(data);
    await out.sync();
    await out.close();
    await fs.rename(temp, target);
  } catch (err) {
    await out.close().catch(() => {});
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDir(dir);
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
