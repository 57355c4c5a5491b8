import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { ExitCode, PgopsError } from '../errors.ts';
import { fsError, type FsErrorContext } from './fs-errors.ts';
import { TEMP_MARK } from './layout.ts';
import { copyHashed, type Digest, type OpenFile } from './open-file.ts';
import type { Encoder } from '../age/index.ts';

// The one way pgops writes a file that others may read: to a temp name in the same folder, fsync of the file, rename
// (or, never overwriting, link(2)) into place, fsync of the folder; on any failure the temp file is removed, so that
// nothing half-written is ever visible under the final name. Used by the file repository (lib/repo/file.ts, wal
// push's data and sidecar among its writes) and by wal fetch's write into pg_wal.

export interface DurableWriteOptions {
  /** what the write is, for its errors: the final path (never the temp file's), and whose disk it is */
  where: FsErrorContext;
  /** never replace target: link(2) instead of rename(2), and false when target exists (nothing was written) */
  exclusive?: boolean;
  /**
   * fsync the file before it is put in place and the folder after: true unless the reader fsyncs itself (PostgreSQL
   * does for the restored WAL it keeps: durable_rename; an unsynced file lost in a crash is fetched again)
   */
  sync?: boolean;
  mode?: number;
  /** aborting removes the temp file and rejects */
  signal?: AbortSignal;
}

// Writes target durably (see above) with what fill writes into the stream it is given. Resolves true once target is
// in place, false when exclusive and target exists (what is there stays). Errors of the write into the temp file,
// of its fsync and of the rename are named by fsError (the cause, the final path, a hint); fill's own (a source that
// fails to read, an integrity check) are thrown as they are.
export async function writeDurably(target: string, fill: (out: Writable) => Promise<void>, opts: DurableWriteOptions): Promise<boolean> {
  const temp = tempBeside(target);
  opts.signal?.throwIfAborted();
  const out = createWriteStream(temp, { flags: 'wx', mode: opts.mode ?? 0o640 });
  // the write stream's errors are the disk's (full, read-only ...); fill's are the caller's to see as they are
  let outError: unknown;
  out.once('error', (err) => (outError = err));
  let filled = false;
  try {
    await fill(out);
    filled = true;
    const sync = opts.sync ?? true;
    if (sync) await fsyncPath(temp, 'r+');
    if (opts.exclusive) {
      const linked = await linkNew(temp, target).finally(() => fs.rm(temp, { force: true }));
      if (!linked) return false;
    } else {
      await fs.rename(temp, target);
    }
    if (sync) await fsyncPath(path.dirname(target), 'r');
    return true;
  } catch (err) {
    await discardTemp(out, temp);
    throw filled || err === outError ? fsError(err, opts.where) : err;
  }
}

// How writeFileAndMarker ended: what it copied, and which of its two names existed already.
export interface FileAndMarker {
  copied: Digest;
  /** target existed, and onTargetExists accepted it (the same content): the marker was published beside it */
  targetExisted: boolean;
  /** the marker existed: this call's marker was not published; the caller reads the one there */
  markerExisted: boolean;
}

// Copies an open file durably to target, then a small marker file in the same folder (a commit marker, such as wal
// push's sidecar) whose text is made from the copy's size and sha256, never overwriting either. Both are written to
// temp files, fsynced and linked into place (link(2) fails where the name exists, where rename would replace it: of
// writers racing for one name, one publishes each file); one fsync of the folder makes both links and the temp
// files' removal durable. When target exists, onTargetExists decides: it throws to refuse (nothing is published), or
// accepts the file there and the marker is published beside it. markerText may throw to refuse the copy: then
// nothing stays behind.
//
// archive_command runs once per segment, so the work overlaps: the copy reads, hashes, writes and flushes side by side
// (copyHashed), and the marker is written and fsynced while the copy's last data reach the disk. On bench:wal's
// machine, a plain loop doing one step after the other, then the marker, took 31 ms for a 16 MB segment; this 17 ms.
export async function writeFileAndMarker(
  source: OpenFile,
  target: string,
  marker: { path: string; text: (copied: Digest, stored?: Digest) => string | Promise<string> },
  opts: { onTargetExists: (copied: Digest) => Promise<void>; signal?: AbortSignal; encode?: Encoder },
): Promise<FileAndMarker> {
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
    const copy = await copyHashed(source, out, opts.signal, opts.encode);
    flushed = copy.flushed;
    const copied = copy.copied;
    const text = await marker.text(copied, copy.stored);
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
    await fsyncPath(path.dirname(marker.path), 'r');
    return { copied, targetExisted, markerExisted };
  } catch (err) {
    await Promise.allSettled([flushed]);
    await discard();
    throw fsError(err, where);
  }
}

// Gives the file temp the name target unless target exists: link(2) fails with EEXIST instead of replacing what is
// there (rename would), so of writers racing for one name exactly one wins. False when target exists; the temp name
// stays for the caller to unlink.
export async function linkNew(temp: string, target: string): Promise<boolean> {
  try {
    await fs.link(temp, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // Linux answers EPERM where the file system has no hard links (vfat, some FUSE and SMB mounts)
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      throw new PgopsError(`cannot publish ${target} without overwriting: its file system refuses hard links (link(2): ${code})`, {
        code: ExitCode.FAILED,
        hint: 'pgops publishes with link(2) so that racing writers never replace each other: keep the repository on a local POSIX file system (ext4, xfs, zfs, btrfs) or NFS, or use an s3:// repository',
        cause: err,
      });
    }
    throw err;
  }
}

// fsync of a folder, so that a link or rename inside it survives a crash.
export function fsyncFolder(dir: string): Promise<void> {
  return fsyncPath(dir, 'r');
}

// fsync a file before it is renamed into place ('r+'), or a folder so that a rename inside it survives a crash ('r').
async function fsyncPath(p: string, flags: 'r+' | 'r'): Promise<void> {
  const handle = await fs.open(p, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// A temp file beside target, with the mark that listings and clean-ups know (isTempKey): the write's own, however
// many run.
export function tempBeside(target: string): string {
  return path.join(path.dirname(target), `${TEMP_MARK}${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

// Removes the temp file a failed or aborted stream wrote. The stream opens its file asynchronously: it is closed
// first, or the file could be created after the removal and outlive it.
async function discardTemp(out: WriteStream, temp: string): Promise<void> {
  if (!out.closed) await once(out.destroy(), 'close').catch(() => undefined);
  await fs.rm(temp, { force: true });
}
