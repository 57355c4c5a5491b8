import fsSync, { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError } from '../errors.ts';
import { HashWorker, type HashOp } from './hash-worker.ts';
import { TarParser, type TarEntry } from './parse.ts';

// Lays a tar stream (pg_basebackup's, lib/tar/parse.ts) down into an empty folder: regular files (0600),
// directories (0700), symlinks. Nothing is ever written outside the folder: a member whose name is absolute, holds
// "..", or leads through a symlink of the archive is refused, and files are created with O_EXCL|O_NOFOLLOW, so no
// name is written twice or through a link. When asked, every file and folder is given to an owner (the server's user
// when we are root) and everything is fsynced at the end, files first, then folders deepest first, as initdb -S and
// pg_basebackup do: PostgreSQL expects a durable data directory.

// How extractTar lays an archive down.
export interface ExtractOptions {
  /** a stream the archive passes through first (decompressStream) */
  decompress?: Duplex;
  /** uid and gid every file, folder and symlink gets (we are root) */
  owner?: { uid: number; gid: number };
  /** fsync files and folders once everything is written (default true) */
  sync?: boolean;
  signal?: AbortSignal;
  /** bytes of the tar stream consumed so far */
  onProgress?: (bytes: number) => void;
  /**
   * sha256 (hex) of files by member path (pg_basebackup's backup_manifest): each such file is hashed as it is
   * written (on a worker thread, hash-worker.ts) and a mismatch rejects (exit 6) once the archive is laid down, so
   * nothing needs to read the files again to check their content
   */
  sha256?: ReadonlyMap<string, string>;
  /** sha256 of the tar stream itself, on the same worker: Extracted.tarSha256 (an uncompressed stored tar's sum) */
  hashTar?: boolean;
}

// What extractTar laid down.
export interface Extracted {
  files: number;
  directories: number;
  symlinks: number;
  /** bytes of the tar stream */
  tarBytes: number;
  /** bytes of the files' data */
  dataBytes: number;
  /** how long the final fsyncs took */
  syncMs: number;
  /** files whose content was checked against opts.sha256 */
  checked: number;
  /** the tar stream's sha256, when hashTar */
  tarSha256?: string;
}

const FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const SYNC_PARALLEL = 8;

const TAMPERED_HINT = 'pg_basebackup never writes such an archive: the stored base backup was tampered with or damaged; use another one (pgops backups list)';

// A member that must not be laid down: the name, and why.
function refused(name: string, why: string): PgopsError {
  return new PgopsError(`the tar stream holds a member that would be written outside the data directory: ${JSON.stringify(name)} ${why}; nothing of it was written`, {
    code: ExitCode.INTEGRITY,
    hint: TAMPERED_HINT,
  });
}

// The path of a member inside the folder, as its components; refuses absolute names, "..", and paths through a symlink.
export function memberPath(name: string, symlinks: ReadonlySet<string>): string[] {
  if (name.startsWith('/')) throw refused(name, 'is absolute');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refused(name, 'goes up with ".."');
  for (let i = 1; i < parts.length; i += 1) {
    if (symlinks.has(parts.slice(0, i).join('/'))) throw refused(name, `leads through the symlink ${parts.slice(0, i).join('/')} of the archive`);
  }
  return parts;
}

type Op = { kind: 'entry'; e: TarEntry } | { kind: 'data'; chunk: Buffer } | { kind: 'end' };

// Lays what source holds down into dest (an existing, empty folder); rejects (and stops) at the first member it
// refuses or the first write that fails. The caller removes what was laid down when it rejects.
export async function extractTar(source: Readable, dest: string, opts: ExtractOptions = {}): Promise<Extracted> {
  const root = path.resolve(dest);
  const result: Extracted = { files: 0, directories: 0, symlinks: 0, tarBytes: 0, dataBytes: 0, syncMs: 0, checked: 0 };
  const symlinks = new Set<string>();
  const dirs = new Set<string>(['']);
  const written: string[] = [];
  let ops: Op[] = [];
  // the file being written: its descriptor (written synchronously: one call per chunk, no round trip through the
  // thread pool, which made the lay-down several times slower than tar -x)
  let open: number | undefined;
  // the sums, off the main thread; hashOps are what the current chunk says of the files to hash
  const hasher = opts.sha256 || opts.hashTar ? new HashWorker(opts.hashTar ?? false) : undefined;
  let hashOps: HashOp[] = [];
  let hashingFile = false;
  let pushed: Buffer | undefined;
  const parser = new TarParser({
    entry: (e) => ops.push({ kind: 'entry', e }),
    // a view into the pushed chunk, which stays alive until the ops of this chunk are done
    data: (_e, chunk) => ops.push({ kind: 'data', chunk }),
    end: () => ops.push({ kind: 'end' }),
  });

  const chown = (p: string, link = false) => {
    if (opts.owner) (link ? fsSync.lchownSync : fsSync.chownSync)(p, opts.owner.uid, opts.owner.gid);
  };
  // makes the folders of a member that its archive did not list first
  const ensureDir = (parts: string[]) => {
    for (let i = 1; i <= parts.length; i += 1) {
      const rel = parts.slice(0, i).join('/');
      if (dirs.has(rel)) continue;
      const p = path.join(root, rel);
      try {
        fsSync.mkdirSync(p, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fsSync.lstatSync(p).isDirectory()) throw err;
      }
      chown(p);
      dirs.add(rel);
      result.directories += 1;
    }
  };
  const begin = (e: TarEntry) => {
    const parts = memberPath(e.name, symlinks);
    if (parts.length === 0) return; // "./": the folder itself
    const rel = parts.join('/');
    const p = path.join(root, rel);
    ensureDir(parts.slice(0, -1));
    if (e.type === 'directory') {
      ensureDir(parts);
      return;
    }
    if (e.type === 'symlink') {
      fsSync.symlinkSync(e.linkName, p);
      chown(p, true);
      symlinks.add(rel);
      result.symlinks += 1;
      return;
    }
    hashingFile = opts.sha256?.has(rel) ?? false;
    if (hashingFile) hashOps.push(['b', rel]);
    open = fsSync.openSync(p, FILE_FLAGS, 0o600);
    if (opts.owner) fsSync.fchownSync(open, opts.owner.uid, opts.owner.gid);
    written.push(p);
    result.files += 1;
  };
  const run = (list: Op[]) => {
    for (const op of list) {
      if (op.kind === 'entry') {
        try {
          begin(op.e);
        } catch (err) {
          throw (err as NodeJS.ErrnoException).code === 'EEXIST' ? new PgopsError(`the tar stream holds ${JSON.stringify(op.e.name)} twice, or under a name it already used; nothing was written over it`, { code: ExitCode.INTEGRITY, hint: TAMPERED_HINT }) : err;
        }
      }
      else if (op.kind === 'data' && open !== undefined) {
        if (hashingFile) hashOps.push(['d', op.chunk.byteOffset - pushed!.byteOffset, op.chunk.length]);
        for (let off = 0; off < op.chunk.length; ) off += fsSync.writeSync(open, op.chunk, off, op.chunk.length - off);
        result.dataBytes += op.chunk.length;
      } else if (op.kind === 'end' && open !== undefined) {
        const fd = open;
        open = undefined;
        fsSync.closeSync(fd);
        if (hashingFile) hashOps.push(['e']);
        hashingFile = false;
      }
    }
  };

  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, done) {
      pushed = chunk;
      try {
        parser.push(chunk);
      } catch (err) {
        done(err as Error);
        return;
      }
      const list = ops;
      ops = [];
      result.tarBytes = parser.bytes;
      try {
        run(list);
      } catch (err) {
        done(err as Error);
        return;
      }
      opts.onProgress?.(parser.bytes);
      if (!hasher) return done();
      const fileOps = hashOps;
      hashOps = [];
      hasher.push(chunk, fileOps, done);
    },
    final(done) {
      try {
        parser.finish();
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    destroy(err, done) {
      const fd = open;
      open = undefined;
      if (fd !== undefined) {
        try {
          fsSync.closeSync(fd);
        } catch {
          // the error that destroyed the stream is the one to report
        }
      }
      done(err);
    },
  });
  try {
    await (opts.decompress ? pipeline(source, opts.decompress, sink, { signal: opts.signal }) : pipeline(source, sink, { signal: opts.signal }));
  } catch (err) {
    await hasher?.close();
    throw err;
  }
  if (hasher) {
    const sums = await hasher.finish();
    for (const [rel, actual] of sums.files) {
      const expected = opts.sha256!.get(rel)!;
      if (actual !== expected) throw new PgopsError(`${rel} of the tar stream does not match backup_manifest: sha256 ${actual}, the manifest lists ${expected}`, { code: ExitCode.INTEGRITY, hint: TAMPERED_HINT });
    }
    result.checked = sums.files.length;
    result.tarSha256 = sums.tar;
  }

  if (opts.sync ?? true) {
    const started = Date.now();
    await syncAll(written, opts.signal);
    // deepest first, the folder itself last: a folder's entry is durable once its parent is synced
    const folders = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length).map((rel) => path.join(root, rel));
    await syncAll(folders, opts.signal);
    result.syncMs = Date.now() - started;
  }
  return result;
}

// fsyncs the paths, a few at a time (the file system batches the flushes of parallel calls).
async function syncAll(paths: readonly string[], signal?: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      signal?.throwIfAborted();
      const fh = await fs.open(paths[next++], 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_PARALLEL, paths.length) }, worker));
}
