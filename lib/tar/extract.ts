import fsSync, { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError } from '../errors.ts';
import { LayDownWorkers, type ChunkWork } from './write-workers.ts';
import { TarParser, type TarEntry } from './parse.ts';

// Lays a tar stream (pg_basebackup's, lib/tar/parse.ts) down into an empty folder: regular files (0600),
// directories (0700), symlinks. Nothing is ever written outside the folder: a member whose name is absolute, holds
// "..", or leads through a symlink of the archive is refused, and files are created with O_EXCL|O_NOFOLLOW, so no
// name is written twice or through a link. When asked, every file and folder is given to an owner (the server's user
// when we are root) and everything is fsynced, each file once written (write-workers.ts), then the folders deepest first
// at the end, as initdb -S and pg_basebackup do: PostgreSQL expects a durable data directory.

// How extractTar lays an archive down.
export interface ExtractOptions {
  /** a stream the archive passes through first (decompressStream) */
  decompress?: Duplex;
  /** uid and gid every file, folder and symlink gets (we are root) */
  owner?: { uid: number; gid: number };
  /** fsync each file once written, and the folders once everything is (default true) */
  sync?: boolean;
  /** with sync, a file's data between early flushes of what it has written so far (default 64 MB) */
  flushEvery?: number;
  signal?: AbortSignal;
  /** bytes of the tar stream consumed so far */
  onProgress?: (bytes: number) => void;
  /**
   * sha256 (hex) of files by member path (pg_basebackup's backup_manifest): each such file is hashed as it is
   * written (by its writer thread, write-workers.ts) and a mismatch rejects (exit 6) once the archive is laid down, so
   * nothing needs to read the files again to check their content
   */
  sha256?: ReadonlyMap<string, string>;
  /** sha256 of the tar stream itself, on a thread of its own: Extracted.tarSha256 (an uncompressed stored tar's sum) */
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
  /** how long the fsyncs took once everything was written: the files' not yet done, then the folders' */
  syncMs: number;
  /** files whose content was checked against opts.sha256 */
  checked: number;
  /** the tar stream's sha256, when hashTar */
  tarSha256?: string;
}

const FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const SYNC_PARALLEL = 8;
/** a file's data handed to its writer between early flushes (write-workers.ts flushEarly) */
const FLUSH_EARLY_BYTES = 64 * 1024 * 1024;

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

// Lays what source holds (a stream, or an uncompressed tar file) down into dest (an existing, empty folder); rejects
// (and stops) at the first member it refuses or the first write that fails. The caller removes what was laid down
// when it rejects.
export async function extractTar(source: Readable | { file: string }, dest: string, opts: ExtractOptions = {}): Promise<Extracted> {
  const root = path.resolve(dest);
  const result: Extracted = { files: 0, directories: 0, symlinks: 0, tarBytes: 0, dataBytes: 0, syncMs: 0, checked: 0 };
  const symlinks = new Set<string>();
  const dirs = new Set<string>(['']);
  let ops: Op[] = [];
  // the files' writes and sums, and the tar's sum, run on threads (write-workers.ts); the main thread reads, parses,
  // makes folders and symlinks, and opens each file (O_EXCL|O_NOFOLLOW) for the writer thread it goes to
  const sync = opts.sync ?? true;
  const workers = new LayDownWorkers(opts.hashTar ?? false, sync);
  // the chunk being parsed, and the writer of the file being written
  let current: ChunkWork | undefined;
  let writer: number | undefined;
  // the file being written, and its bytes handed to its writer since its last early flush
  let fd = -1;
  let unflushed = 0;
  let pushed: Buffer | undefined;
  const parser = new TarParser({
    entry: (e) => ops.push({ kind: 'entry', e }),
    // a view into the pushed chunk: only its place in the chunk is used (the writers read the chunk's copy)
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
    fd = fsSync.openSync(p, FILE_FLAGS, 0o600);
    unflushed = 0;
    workers.opened(fd);
    if (opts.owner) fsSync.fchownSync(fd, opts.owner.uid, opts.owner.gid);
    writer = workers.assign(e.size);
    current!.ops[writer].push(['b', rel, fd, opts.sha256?.has(rel) ?? false]);
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
      else if (op.kind === 'data' && writer !== undefined) {
        current!.ops[writer].push(['d', op.chunk.byteOffset - pushed!.byteOffset, op.chunk.length]);
        result.dataBytes += op.chunk.length;
        unflushed += op.chunk.length;
        if (unflushed >= (opts.flushEvery ?? FLUSH_EARLY_BYTES)) {
          workers.flushEarly(fd);
          unflushed = 0;
        }
      } else if (op.kind === 'end' && writer !== undefined) {
        current!.ops[writer].push(['e']);
        writer = undefined;
      }
    }
  };

  // parses one chunk in its slot (chunk: the bytes parsed, the slot's copy or the bytes it was copied from) and hands
  // its ops to the threads
  const consume = (work: ChunkWork, chunk: Buffer) => {
    pushed = chunk;
    current = work;
    parser.push(chunk);
    const list = ops;
    ops = [];
    result.tarBytes = parser.bytes;
    run(list);
    workers.post(work);
    current = undefined;
    opts.onProgress?.(parser.bytes);
  };
  const sink = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _enc, done) {
      // a slot of the threads' pool for the chunk: the next chunk waits until the threads are done with one
      workers.whenFree((failed) => {
        if (failed) return done(failed);
        try {
          consume(workers.take(chunk)!, chunk);
        } catch (err) {
          done(err as Error);
          return;
        }
        done();
      });
    },
    final(done) {
      try {
        parser.finish();
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  // a file is read straight into the slots: no chunk of its own to allocate, none to copy
  const readFile = async (file: string) => {
    const fd = fsSync.openSync(file, 'r');
    try {
      for (let position = 0; ; ) {
        opts.signal?.throwIfAborted();
        await new Promise<void>((resolve, reject) => workers.whenFree((failed) => (failed ? reject(failed) : resolve())));
        const work = workers.slot()!;
        work.length = fsSync.readSync(fd, work.buffer, 0, work.buffer.length, position);
        position += work.length;
        consume(work, work.buffer.subarray(0, work.length));
        if (work.length === 0) break;
      }
      parser.finish();
    } finally {
      fsSync.closeSync(fd);
    }
  };
  let sums;
  // when the last byte was handed to its writer: the fsyncs still under way then, and the folders', are syncMs
  let written = 0;
  try {
    if ('file' in source) {
      if (opts.decompress) throw new Error('extractTar reads a file source as an uncompressed tar: stream a compressed one through decompress');
      await readFile(source.file);
    }
    else await (opts.decompress ? pipeline(source, opts.decompress, sink, { signal: opts.signal }) : pipeline(source, sink, { signal: opts.signal }));
    sums = await workers.finish(() => (written = Date.now()));
  } catch (err) {
    // what was handed to the threads is written first (unless the run is stopped), so that a refused member leaves
    // the files before it whole; then the threads end, and the descriptors they had not closed yet are closed
    if (!opts.signal?.aborted) await workers.drained().catch(() => undefined);
    await workers.close();
    throw err;
  }
  for (const [rel, actual] of sums.files) {
    const expected = opts.sha256?.get(rel);
    if (expected !== undefined && actual !== expected) throw new PgopsError(`${rel} of the tar stream does not match backup_manifest: sha256 ${actual}, the manifest lists ${expected}`, { code: ExitCode.INTEGRITY, hint: TAMPERED_HINT });
  }
  result.checked = sums.files.length;
  result.tarSha256 = sums.tar;

  if (sync) {
    // deepest first, the folder itself last: a folder's entry is durable once its parent is synced
    const folders = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length).map((rel) => path.join(root, rel));
    await syncAll(folders, opts.signal);
    result.syncMs = Date.now() - written;
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
