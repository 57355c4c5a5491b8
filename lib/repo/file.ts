import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError } from '../errors.ts';
import { fsyncFolder, linkNew, writeDurably, writeFileAndMarker } from './durable-write.ts';
import { fsError, mapFsError } from './fs-errors.ts';
import { HashCounter } from './hashing.ts';
import { TEMP_MARK } from './layout.ts';
import { publishMarkedInSteps } from './marked-put.ts';
import {
  AlreadyExistsError,
  NotFoundError,
  checkKey,
  type MarkedPublish,
  type MarkedResult,
  type PutBytesOptions,
  type PutOptions,
  type PutResult,
  type ScratchFolder,
  type Repo,
  type StoredObject,
} from './repo.ts';

// A repository in a local folder: every write is a durable write (lib/repo/durable-write.ts: a temp file, fsync,
// rename or, never overwriting, link(2), fsync of the folder). Errors of the file system are PgopsErrors naming the
// cause and the path (lib/repo/fs-errors.ts).
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
    const where = { action: 'writing' as const, path: target };
    await mapFsError(fs.mkdir(path.dirname(target), { recursive: true }), where);
    const counter = new HashCounter(opts.onProgress);
    const published = await writeDurably(target, (out) => pipeline(body, counter, out, { signal: opts.signal }), { where, exclusive: opts.ifAbsent, signal: opts.signal });
    if (!published) throw new AlreadyExistsError(key, this.url);
    return { key, size: counter.bytes, sha256: counter.digest() };
  }

  putBytes(key: string, data: string | Buffer, opts: PutBytesOptions = {}): Promise<PutResult> {
    return this.put(key, Readable.from([Buffer.from(data)]), opts);
  }

  async publishMarked(p: MarkedPublish): Promise<MarkedResult> {
    // a stream (a compressed body) has no file to copy in place: two puts, as s3 does
    if (!('handle' in p.body)) return publishMarkedInSteps(this, p);
    const done = await writeFileAndMarker(p.body, this.abs(p.key), { path: this.abs(p.markerKey), text: p.markerText }, { onTargetExists: p.onExists, signal: p.signal, encode: p.encode });
    return { created: !done.targetExisted, markerExisted: done.markerExisted };
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

  async scratchFolder(prefix: string): Promise<ScratchFolder> {
    const parent = this.abs(prefix.replace(/\/+$/, ''));
    const where = { action: 'writing' as const, path: parent };
    await mapFsError(fs.mkdir(parent, { recursive: true }), where);
    const folder = path.join(parent, `${TEMP_MARK}scratch-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mapFsError(fs.mkdir(folder, { mode: 0o700 }), where);
    return {
      path: folder,
      publish: async (file, key) => {
        const target = this.abs(key);
        await mapFsError(fs.mkdir(path.dirname(target), { recursive: true }), { action: 'writing', path: target });
        const linked = await mapFsError(linkNew(file, target), { action: 'writing', path: target });
        if (!linked) throw new AlreadyExistsError(key, this.url);
        await mapFsError(fsyncFolder(path.dirname(target)), { action: 'writing', path: target });
      },
      remove: () => fs.rm(folder, { recursive: true, force: true }),
    };
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
