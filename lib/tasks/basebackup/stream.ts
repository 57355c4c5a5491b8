import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline, Readable, Transform } from 'node:stream';
import { ExitCode, PgopsError } from '../../errors.ts';
import type { PgBinary } from '../../pg/binaries.ts';
import { followFile } from '../../follow-file.ts';
import { execPgTool, streamPgTool } from '../../pg/exec-tool.ts';
import type { PutResult, Repo, ScratchFolder } from '../../repo/repo.ts';
import { compressStream, type CompressionSpec } from '../../tar/compression.ts';
import { TarParser, type TarEntry } from '../../tar/parse.ts';
import { streamFailure } from '../backup/outcome.ts';

// pg_basebackup's tar stream, from its stdout through a tar parser (which keeps copies of backup_label and
// backup_manifest and notes every member's size) and the compressor into one repository object. Nothing is staged
// on local disk, and memory stays bounded: the parser copies only header blocks and the two small members.
//
// Into a file repository without compression, pg_basebackup writes base.tar and backup_manifest itself, into a
// scratch folder inside the repository, and pgops reads base.tar as it grows (hash and parser as above), then links it
// into place. A pipe from pg_basebackup costs it a wake-up of its reader per 4 kB write: on bench:pitr's 341 MB tar,
// `pg_basebackup -D - | cat > file` took 2.45 s where `pg_basebackup -D dir` took 1.75 s.

export interface StreamRequest {
  pgBasebackup: PgBinary;
  /** libpq conninfo for -d (never the password: that is in env's PGPASSFILE) */
  connString: string;
  env: NodeJS.ProcessEnv;
  /** pg_basebackup's label: "pgops <backup id>" */
  label: string;
  repo: Repo;
  key: string;
  compression: CompressionSpec;
  signal: AbortSignal;
  /** bytes of the tar stream so far */
  onProgress: (tarBytes: number) => void;
  /** backup_label arrived (the first member) */
  onLabel?: (text: string) => void;
  /** global/pg_control began, which the server sends last: next the server stops the backup (and a primary waits
   * for the stop segment to be archived) before pg_basebackup can end. pg_basebackup buffers its output, so the end
   * of pg_control may not arrive before the server's stop is over; its header has */
  onServerStop?: () => void;
  sizeHint?: number;
}

// What the tar held, as the parser saw it.
export interface TarFacts {
  backupLabel: string;
  backupManifest: Buffer;
  /** every regular file member's size, by path */
  members: Map<string, number>;
  memberCount: number;
  /** bytes of the uncompressed tar */
  tarSize: number;
}

export interface Streamed {
  put: PutResult;
  tar: TarFacts;
}

const HINT = "read pg_basebackup's message above; the usual causes are a role without REPLICATION, no replication line for it in pg_hba.conf, no free WAL sender (max_wal_senders), and, on a standby, a primary with full_page_writes off";
const CAPTURED = new Set(['backup_label', 'backup_manifest']);

// The pg_basebackup command line: tar to stdout (folder '-') or into a folder, no WAL (it comes from the archive), a
// fast checkpoint, SHA-256 in its own manifest, never a password prompt.
export function pgBasebackupArgs(connString: string, label: string, folder = '-'): string[] {
  return ['-D', folder, '-Ft', '-X', 'none', '-c', 'fast', '--manifest-checksums=SHA256', '--no-password', '-l', label, '-d', connString];
}

// Runs pg_basebackup and stores its tar under key, compressed as asked. Resolves once pg_basebackup exited 0 and the
// object is stored whole; rejects (the object removed) when pg_basebackup, the parser or the storage failed.
export async function streamBaseBackup(req: StreamRequest): Promise<Streamed> {
  if (req.compression.method === 'none' && req.repo.scratchFolder) return writeInPlace(req, await req.repo.scratchFolder(path.posix.dirname(req.key) + '/'));
  const tool = streamPgTool({ file: req.pgBasebackup.path, args: pgBasebackupArgs(req.connString, req.label), env: req.env, signal: req.signal, what: 'pg_basebackup', hint: HINT });
  const { tap, facts } = tarTap(req, CAPTURED);
  const compressor = compressStream(req.compression);
  // the last stage is put's body: when put fails it destroys the body, the pipeline destroys every stage, and
  // pg_basebackup's stdout closing stops pg_basebackup (streamPgTool); the failure itself reaches us through put
  const body = pipeline([tool.stdout, tap, ...(compressor ? [compressor] : [])], () => {}) as unknown as Readable;
  const [put, done] = await Promise.allSettled([req.repo.put(req.key, body, { signal: req.signal, sizeHint: req.sizeHint }), tool.done]);
  const failure = streamFailure(put, done, req.signal);
  if (failure !== undefined || put.status === 'rejected') throw failure ?? (put as PromiseRejectedResult).reason;
  return { put: put.value, tar: facts() };
}

// pg_basebackup -D into the scratch folder, its base.tar read as it grows, then linked under key (never over an
// existing object); the folder is removed whatever happens.
async function writeInPlace(req: StreamRequest, scratch: ScratchFolder): Promise<Streamed> {
  try {
    // a reader that fails (a tar the parser refuses) stops pg_basebackup too
    const stop = new AbortController();
    const written = execPgTool({ file: req.pgBasebackup.path, args: pgBasebackupArgs(req.connString, req.label, scratch.path), env: req.env, signal: AbortSignal.any([req.signal, stop.signal]), what: 'pg_basebackup', hint: HINT });
    written.catch(() => {});
    const tarFile = path.join(scratch.path, 'base.tar');
    const watch = tarWatch(req, new Set(['backup_label']));
    const hash = createHash('sha256');
    let size = 0;
    const read = (async () => {
      // one buffer, read into again once its bytes are parsed and hashed: no chunk to allocate and collect
      for await (const chunk of followFile(tarFile, { writerDone: written, signal: req.signal })) {
        watch.push(chunk);
        hash.update(chunk);
        size += chunk.length;
      }
      watch.finish();
    })();
    read.catch((err: unknown) => stop.abort(err));
    const [done, tool] = await Promise.allSettled([read, written]);
    const failure = streamFailure(done, tool, req.signal);
    if (failure !== undefined || done.status === 'rejected') throw failure ?? (done as PromiseRejectedResult).reason;
    const tar = watch.facts();
    tar.backupManifest = await fs.readFile(path.join(scratch.path, 'backup_manifest')).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? incomplete(`it wrote no backup_manifest into ${scratch.path}`) : err;
    });
    req.signal.throwIfAborted();
    await scratch.publish(tarFile, req.key);
    return { put: { key: req.key, size, sha256: hash.digest('hex') }, tar };
  } finally {
    await scratch.remove();
  }
}

// What watches the tar as it passes: a TarParser that keeps copies of the members to capture, notes every member's
// size, and tells the request of backup_label and of global/pg_control; finish fails unless the archive ended properly
// and held the members to capture.
function tarWatch(req: Pick<StreamRequest, 'onProgress' | 'onLabel' | 'onServerStop'>, capture: ReadonlySet<string>): { push(chunk: Buffer): void; finish(): void; facts: () => TarFacts } {
  const captured = new Map<string, Buffer[]>();
  const members = new Map<string, number>();
  let memberCount = 0;
  const parser = new TarParser({
    entry(e: TarEntry) {
      memberCount += 1;
      if (e.type === 'file') members.set(e.name, e.size);
      if (capture.has(e.name)) captured.set(e.name, []);
      if (e.name === 'global/pg_control') req.onServerStop?.();
    },
    data(e, chunk) {
      // a view into the pushed chunk: copied, the chunk itself moves on
      captured.get(e.name)?.push(Buffer.from(chunk));
    },
    end(e) {
      if (e.name === 'backup_label') req.onLabel?.(Buffer.concat(captured.get(e.name) ?? []).toString('utf8'));
    },
  });
  return {
    push(chunk) {
      parser.push(chunk);
      req.onProgress(parser.bytes);
    },
    finish() {
      parser.finish();
      for (const name of capture) if (!captured.has(name)) throw incomplete(`it holds no ${name}`);
    },
    facts: () => ({
      backupLabel: Buffer.concat(captured.get('backup_label')!).toString('utf8'),
      backupManifest: Buffer.concat(captured.get('backup_manifest') ?? []),
      members,
      memberCount,
      tarSize: parser.bytes,
    }),
  };
}

// tarWatch as a pass-through: its flush (pg_basebackup's stdout ended, which streamPgTool does only after an exit 0)
// fails unless the archive ended properly.
function tarTap(req: Pick<StreamRequest, 'onProgress' | 'onLabel' | 'onServerStop'>, capture: ReadonlySet<string>): { tap: Transform; facts: () => TarFacts } {
  const watch = tarWatch(req, capture);
  const tap = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc, cb) {
      try {
        watch.push(chunk);
      } catch (err) {
        cb(err as Error);
        return;
      }
      cb(null, chunk);
    },
    flush(cb) {
      try {
        watch.finish();
      } catch (err) {
        cb(err as Error);
        return;
      }
      cb();
    },
  });
  return { tap, facts: watch.facts };
}

function incomplete(what: string): PgopsError {
  return new PgopsError(`pg_basebackup exited 0 but its tar stream is incomplete: ${what}`, {
    code: ExitCode.FAILED,
    hint: 'nothing was committed; run pg_basebackup -Ft -D - -X none by hand to see what it writes, or pass --pg-bin with a working pg_basebackup',
  });
}
