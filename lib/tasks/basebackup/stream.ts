import { pipeline, Transform, type Readable } from 'node:stream';
import { ExitCode, PgopsError } from '../../errors.ts';
import type { PgBinary } from '../../pg/binaries.ts';
import { streamPgTool } from '../../pg/exec-tool.ts';
import type { PutResult, Repo } from '../../repo/repo.ts';
import { compressStream, type CompressionSpec } from '../../tar/compression.ts';
import { TarParser, type TarEntry } from '../../tar/parse.ts';
import { streamFailure } from '../backup/outcome.ts';

// pg_basebackup's tar stream, from its stdout through a tar parser (which keeps copies of backup_label and
// backup_manifest and notes every member's size) and the compressor into one repository object. Nothing is staged
// on local disk, and memory stays bounded: the parser copies only header blocks and the two small members.

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

// The pg_basebackup command line: tar to stdout, no WAL (it comes from the archive), a fast checkpoint, SHA-256 in
// its own manifest, never a password prompt.
export function pgBasebackupArgs(connString: string, label: string): string[] {
  return ['-D', '-', '-Ft', '-X', 'none', '-c', 'fast', '--manifest-checksums=SHA256', '--no-password', '-l', label, '-d', connString];
}

// Runs pg_basebackup and stores its tar stream under key, compressed as asked. Resolves once pg_basebackup exited 0
// and the object is stored whole; rejects (the object removed) when pg_basebackup, the parser or the storage failed.
export async function streamBaseBackup(req: StreamRequest): Promise<Streamed> {
  const tool = streamPgTool({ file: req.pgBasebackup.path, args: pgBasebackupArgs(req.connString, req.label), env: req.env, signal: req.signal, what: 'pg_basebackup', hint: HINT });
  const { tap, facts } = tarTap(req);
  const compressor = compressStream(req.compression);
  // the last stage is put's body: when put fails it destroys the body, the pipeline destroys every stage, and
  // pg_basebackup's stdout closing stops pg_basebackup (streamPgTool); the failure itself reaches us through put
  const body = pipeline([tool.stdout, tap, ...(compressor ? [compressor] : [])], () => {}) as unknown as Readable;
  const [put, done] = await Promise.allSettled([req.repo.put(req.key, body, { signal: req.signal, sizeHint: req.sizeHint }), tool.done]);
  const failure = streamFailure(put, done, req.signal);
  if (failure !== undefined || put.status === 'rejected') throw failure ?? (put as PromiseRejectedResult).reason;
  return { put: put.value, tar: facts() };
}

// A pass-through that feeds every chunk to a TarParser; its flush (pg_basebackup's stdout ended, which streamPgTool
// does only after an exit 0) fails unless the archive ended properly and held backup_label and backup_manifest.
function tarTap(req: Pick<StreamRequest, 'onProgress' | 'onLabel' | 'onServerStop'>): { tap: Transform; facts: () => TarFacts } {
  const captured = new Map<string, Buffer[]>();
  const members = new Map<string, number>();
  let memberCount = 0;
  const parser = new TarParser({
    entry(e: TarEntry) {
      memberCount += 1;
      if (e.type === 'file') members.set(e.name, e.size);
      if (CAPTURED.has(e.name)) captured.set(e.name, []);
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
  const tap = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc, cb) {
      try {
        parser.push(chunk);
      } catch (err) {
        cb(err as Error);
        return;
      }
      req.onProgress(parser.bytes);
      cb(null, chunk);
    },
    flush(cb) {
      try {
        parser.finish();
        for (const name of CAPTURED) if (!captured.has(name)) throw incomplete(`it holds no ${name}`);
      } catch (err) {
        cb(err as Error);
        return;
      }
      cb();
    },
  });
  return {
    tap,
    facts: () => ({
      backupLabel: Buffer.concat(captured.get('backup_label')!).toString('utf8'),
      backupManifest: Buffer.concat(captured.get('backup_manifest')!),
      members,
      memberCount,
      tarSize: parser.bytes,
    }),
  };
}

function incomplete(what: string): PgopsError {
  return new PgopsError(`pg_basebackup exited 0 but its tar stream is incomplete: ${what}`, {
    code: ExitCode.FAILED,
    hint: 'nothing was committed; run pg_basebackup -Ft -D - -X none by hand to see what it writes, or pass --pg-bin with a working pg_basebackup',
  });
}
