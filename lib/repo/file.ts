import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError } from '../errors.ts';
import { fsError, mapFsError } from './fs-errors.ts';
import { HashCounter } from './hashing.ts';
import { AlreadyExistsError, NotFoundError, checkKey, type PutBytesOptions, type PutOptions, type PutResult, type Repo, type StoredObject } from './repo.ts';

export const TEMP_MARK = '.pgops-tmp-';

// A repository in a local folder: writes go to a temp file, fsync, rename (or, never overwriting, link(2)), fsync of
// the folder. Errors of the file system are PgopsErrors naming the cause and the path (lib/repo/fs-errors.ts).
export class FileRepo implements Repo {
  readonly kind = 'file' as const;
  readonly url: string;
  /** link(2) fails with EEXIST when the name exists: of racing writers exactly one publishes */
  readonly exclusiveCreate = true;

  constructor(readonly root: string) {
    this.url = `file://${root}`;
  }

  private abs(key: string): string {
    return path.join(this.root, checkKey(key));
  }

  async check(): Promise<void> {
    const probe = path.join(this.root, `${TEMP_MARK}check-${randomBytes(4).toString('hex')}`);
    try {
      await fs.mkdir(this.root, { recursive: true });
      await fs.writeFile(probe, 'pgops');
      await fs.rm(probe);
    } catch (err) {
      const mapped = fsError(err, { action: 'writing', path: this.root });
      throw new PgopsError(`repository ${this.url} is not writable: ${mapped instanceof PgopsError ? mapped.message : String(err)}`, {
        code: ExitCode.UNKNOWN,
        hint: mapped instanceof PgopsError ? mapped.hint : 'create the folder and make it writable by the user pgops runs as, or pass another --repo',
        cause: err,
      });
    }
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const target = this.abs(key);
    const dir = path.dirname(target);
    const where = { action: 'writing' as const, path: target };
    await mapFsError(fs.mkdir(dir, { recursive: true }), where);
    const temp = tempBeside(target);
    opts.signal?.throwIfAborted();
    const counter = new HashCounter(opts.onProgress);
    const out = createWriteStream(temp, { flags: 'wx', mode: 0o640 });
    // the write stream's errors are the disk's (full, read-only ...); the body's are the caller's to see as they are
    let outError: unknown;
    out.once('error', (err) => (outError = err));
    let streamed = false;
    try {
      await pipeline(body, counter, out, { signal: opts.signal });
      streamed = true;
      await syncFile(temp);
      if (opts.ifAbsent) await publishNew(temp, target, key, this.url);
      else await fs.rename(temp, target);
      await syncDir(dir);
    } catch (err) {
      await discardTemp(out, temp);
      throw streamed || err === outError ? fsError(err, where) : err;
    }
    return { key, size: counter.bytes, sha256: counter.digest() };
  }

  putBytes(key: string, data: string | Buffer, opts: PutBytesOptions = {}): Promise<PutResult> {
    return this.put(key, Readable.from([Buffer.from(data)]), opts);
  }

  async get(key: string): Promise<Readable> {
    const file = this.abs(key);
    // opened here, not by the stream: a missing or unreadable file is an answer of get, not a stream error later
    const handle = await fs.open(file, 'r').catch((err: unknown) => {
      throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? new NotFoundError(key, this.url) : fsError(err, { action: 'reading', path: file });
    });
    return handle.createReadStream({ highWaterMark: 1024 * 1024 });
  }

  async getBytes(key: string): Promise<Buffer> {
    const file = this.abs(key);
    try {
      return await fs.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(key, this.url);
      throw fsError(err, { action: 'reading', path: file });
    }
  }

  localPath(key: string): string {
    return this.abs(key);
  }

  async exists(key: string): Promise<boolean> {
    const file = this.abs(key);
    try {
      await fs.access(file);
      return true;
    } catch (err) {
      // a file where a folder of the path should be: nothing can exist below it
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
      throw fsError(err, { action: 'reading', path: file });
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const start = prefix ? path.join(this.root, prefix) : this.root;
    const out: StoredObject[] = [];
    const walk = async (dir: string): Promise<void> => {
      let names: import('node:fs').Dirent[];
      try {
        names = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw fsError(err, { action: 'listing', path: dir });
      }
      for (const entry of names) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) {
          const st = await fs.stat(full).catch((err: unknown) => {
            // a temp file that its write renamed or removed since the folder was read
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
            throw fsError(err, { action: 'listing', path: full });
          });
          if (st) out.push({ key: path.relative(this.root, full).split(path.sep).join('/'), size: st.size, modified: st.mtime });
        }
      }
    };
    await walk(start);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async hasAny(prefix: string): Promise<boolean> {
    const walk = async (dir: string): Promise<boolean> => {
      let names: import('node:fs').Dirent[];
      try {
        names = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
        throw fsError(err, { action: 'listing', path: dir });
      }
      if (names.some((e) => e.isFile())) return true;
      for (const entry of names) if (entry.isDirectory() && (await walk(path.join(dir, entry.name)))) return true;
      return false;
    };
    return walk(prefix ? path.join(this.root, prefix) : this.root);
  }

  async delete(keys: string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const file = this.abs(key);
      await mapFsError(fs.rm(file, { force: true }), { action: 'deleting', path: file });
      dirs.add(path.dirname(file));
    }
    // Remove folders the deletes left empty, deepest first, never the root.
    const sorted = [...dirs].sort((a, b) => b.length - a.length);
    for (let dir of sorted) {
      while (dir.startsWith(this.root + path.sep)) {
        try {
          await fs.rmdir(dir);
        } catch {
          break;
        }
        dir = path.dirname(dir);
      }
    }
  }

  async close(): Promise<void> {}
}

// Puts the finished temp file in place under a name that must not exist yet (linkNew); the temp file is unlinked
// either way, the caller fsyncs the folder.
async function publishNew(temp: string, target: string, key: string, repoUrl: string): Promise<void> {
  try {
    if (!(await linkNew(temp, target))) throw new AlreadyExistsError(key, repoUrl);
  } finally {
    await fs.rm(temp, { force: true });
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

// fsync a file's data before it is renamed into place.
async function syncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// fsync a folder so that a rename inside it survives a crash.
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// A temp file beside target, with the mark that listings and clean-ups know: the write's own, however many run.
export function tempBeside(target: string): string {
  return path.join(path.dirname(target), `${TEMP_MARK}${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

// Removes the temp file a failed or aborted stream wrote. The stream opens its file asynchronously: it is closed
// first, or the file could be created after the removal and outlive it.
export async function discardTemp(out: WriteStream, temp: string): Promise<void> {
  if (!out.closed) await once(out.destroy(), 'close').catch(() => undefined);
  await fs.rm(temp, { force: true });
}

// True for the temp files of writes in progress (or of crashed writers).
export function isTempKey(key: string): boolean {
  return path.basename(key).startsWith(TEMP_MARK);
}
