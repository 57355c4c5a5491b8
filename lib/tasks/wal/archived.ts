import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import { abortable } from '../../repo/abortable.ts';
import { discardSink, HashCounter } from '../../repo/hashing.ts';
import { dataKey, sidecarKey, walFolder, type Compression } from '../../repo/layout.ts';
import { NotFoundError, type Repo } from '../../repo/repo.ts';
import { parseSidecar, type Sidecar } from '../../repo/wal-sidecar.ts';
import { decompressor } from './compression.ts';

// The sidecar of an archived WAL file, or undefined when the file is not (completely) archived.
export async function readSidecar(repo: Repo, systemId: string, name: string): Promise<Sidecar | undefined> {
  let text: Buffer;
  try {
    text = await repo.getBytes(sidecarKey(systemId, name));
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  try {
    return parseSidecar(text.toString('utf8'), name);
  } catch (err) {
    throw new PgopsError(`${sidecarKey(systemId, name)} in ${repo.url} is damaged: ${messageOf(err)}`, {
      code: ExitCode.INTEGRITY,
      hint: 'something other than pgops wrote into the WAL folder; compare it with another copy of the archive',
    });
  }
}

// An error of the transfer itself (the connection), not of the bytes: node's http client says "aborted" or resets.
function isTransferError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.message === 'aborted' || e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

// Streams an archived WAL file, decompressed, into sink and proves it is the file the sidecar describes.
// Throws INTEGRITY (exit 6) when the data object is missing, cut short or does not match; the caller discards sink's output then.
export async function readArchived(repo: Repo, systemId: string, s: Sidecar, sink: Writable, signal?: AbortSignal): Promise<void> {
  const key = dataKey(systemId, s.name, s.compression);
  let body: Readable;
  try {
    body = await abortable(repo.get(key, { sealed: s.sealed }), signal);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    throw new PgopsError(`${s.name} has a sidecar in ${repo.url}/${walFolder(systemId)} but its data object ${s.stored} is missing`, {
      code: ExitCode.INTEGRITY,
      hint: `the archive is damaged; if pg_wal of the server still holds ${s.name}, pgops wal push it again (it repairs the data object)`,
    });
  }
  const counter = new HashCounter();
  const inflate = await decompressor(s.compression);
  try {
    await pipeline([body, ...(inflate ? [inflate] : []), counter, sink], { signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    if (err instanceof PgopsError) throw err;
    if (isTransferError(err)) {
      throw new PgopsError(`reading ${s.stored} from ${repo.url} broke off: ${messageOf(err)}`, {
        code: ExitCode.FAILED,
        hint: 'the connection to the store ended mid-transfer (a restart, a proxy, a network fault); the command can be run again',
        cause: err,
      });
    }
    // the sink's own failure (a file system error writing the destination) is the caller's to name
    if ((err as NodeJS.ErrnoException).syscall) throw err;
    if (inflate) throw new PgopsError(`${s.stored} in ${repo.url} cannot be decompressed (${s.compression}): ${messageOf(err)}`, { code: ExitCode.INTEGRITY, cause: err });
    throw err;
  }
  const sha256 = counter.digest();
  if (sha256 !== s.sha256 || counter.bytes !== s.size) {
    throw new PgopsError(`${s.name} in ${repo.url} does not match its sidecar: ${counter.bytes} bytes with sha256 ${sha256}, the sidecar lists ${s.size} bytes with sha256 ${s.sha256}`, {
      code: ExitCode.INTEGRITY,
      hint: 'the archived copy is damaged; do not use it. If the server still has the file in pg_wal, compare the two',
    });
  }
}

// An archived WAL file as a Buffer, verified (for small files: history files and backup labels).
export async function readArchivedBytes(repo: Repo, systemId: string, s: Sidecar): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  await readArchived(repo, systemId, s, sink);
  return Buffer.concat(chunks);
}

// What a stored data object holds: size and sha256 of the WAL file in it (decompressed) and its size as stored. For a
// push that finds the name taken (a racing writer, or a crashed push), to tell the same file from another.
export async function hashStored(repo: Repo, key: string, compression: Compression, signal?: AbortSignal): Promise<{ size: number; sha256: string; storedSize: number }> {
  const body = await abortable(repo.get(key), signal);
  const stored = new HashCounter();
  const content = new HashCounter();
  const inflate = await decompressor(compression);
  try {
    await pipeline([body, stored, ...(inflate ? [inflate] : []), content, discardSink()], { signal });
  } catch (err) {
    if (signal?.aborted || !inflate || err instanceof PgopsError) throw err;
    throw new PgopsError(`${key} in ${repo.url} cannot be decompressed (${compression}): ${messageOf(err)}`, { code: ExitCode.INTEGRITY, cause: err });
  }
  return { size: content.bytes, sha256: content.digest(), storedSize: stored.bytes };
}
