import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError, messageOf } from '../errors.ts';
import { HashCounter } from './hashing.ts';
import { NotFoundError, checkKey, type PutOptions, type PutResult, type Repo, type StoredObject } from './repo.ts';

export const TEMP_MARK = '.pgops-tmp-';

// A repository in a local folder: writes go to a temp file, fsync, rename, fsync of the folder.
export class FileRepo implements Repo {
  readonly kind = 'file' as const;
  readonly url: string;

  constructor(readonly root: string) {
    this.url = `file://${root}`;
  }

  private abs(key: string): string {
    return path.join(this.root, checkKey(key));
  }

  async check(): Promise<void> {
    try {
      await fs.mkdir(this.root, { recursive: true });
      const probe = path.join(this.root, `${TEMP_MARK}check-${randomBytes(4).toString('hex')}`);
      await fs.writeFile(probe, 'pgops');
      await fs.rm(probe);
    } catch (err) {
      throw new PgopsError(`repository ${this.url} is not writable: ${messageOf(err)}`, {
        code: ExitCode.UNKNOWN,
        hint: 'create the folder and make it writable by the user pgops runs as, or pass another --repo',
        cause: err,
      });
    }
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const target = this.abs(key);
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true });
    const temp = tempBeside(target);
    opts.signal?.throwIfAborted();
    const counter = new HashCounter(opts.onProgress);
    const out = createWriteStream(temp, { flags: 'wx', mode: 0o640 });
    try {
      await pipeline(body, counter, out, { signal: opts.signal });
      await syncFile(temp);
      await fs.rename(temp, target);
      await syncDir(dir);
    } catch (err) {
      await discardTemp(out, temp);
      throw err;
    }
    return { key, size: counter.bytes, sha256: counter.digest() };
  }

  putBytes(key: string, data: string | Buffer): Promise<PutResult> {
    return this.put(key, Readable.from([Buffer.from(data)]));
  }

  async get(key: string): Promise<Readable> {
    const file = this.abs(key);
    try {
      await fs.access(file);
    } catch {
      throw new NotFoundError(key, this.url);
    }
    return createReadStream(file, { highWaterMark: 1024 * 1024 });
  }

  async getBytes(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.abs(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(key, this.url);
      throw err;
    }
  }

  localPath(key: string): string {
    return this.abs(key);
  }

  async exists(key: string): Promise<boolean> {
    return fs.access(this.abs(key)).then(
      () => true,
      () => false,
    );
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
        throw err;
      }
      for (const entry of names) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) {
          const st = await fs.stat(full);
          out.push({ key: path.relative(this.root, full).split(path.sep).join('/'), size: st.size, modified: st.mtime });
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
        throw err;
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
      await fs.rm(file, { force: true });
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
