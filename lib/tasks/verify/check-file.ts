import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { messageOf } from '../../errors.ts';
import { discardSink, HashCounter } from '../../repo/hashing.ts';
import type { Compression } from '../../repo/layout.ts';
import { NotFoundError, type Repo } from '../../repo/repo.ts';
import { decompressor } from '../wal/compression.ts';

// What a manifest or a sidecar says a file holds.
export interface Expected {
  size: number;
  sha256: string;
}

export type FileOutcome =
  | { status: 'ok' }
  | { status: 'missing' }
  /** the content differs, or does not decompress */
  | { status: 'damaged'; detail: string }
  /** the read failed (I/O, network): nothing is known of the content */
  | { status: 'unreadable'; detail: string };

// Streams one stored object through sha256 and a byte count (decompressing it first when it is stored compressed:
// a sidecar lists the uncompressed file) and compares both with what its manifest or sidecar lists. Memory stays
// at a few stream buffers whatever the file's size. Rejects only when aborted.
export async function checkObject(repo: Repo, key: string, expected: Expected, compression: Compression, signal?: AbortSignal): Promise<FileOutcome> {
  let body: Readable;
  try {
    body = await repo.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) return { status: 'missing' };
    return { status: 'unreadable', detail: messageOf(err) };
  }
  const inflate = await decompressor(compression);
  let inflateFailed = false;
  inflate?.once('error', () => (inflateFailed = true));
  const counter = new HashCounter();
  try {
    await pipeline([body, ...(inflate ? [inflate] : []), counter, discardSink()], { signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    if (inflateFailed) return { status: 'damaged', detail: `does not decompress (${compression}): ${messageOf(err)}` };
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    return { status: 'unreadable', detail: messageOf(err) };
  }
  const sha256 = counter.digest();
  if (counter.bytes === expected.size && sha256 === expected.sha256) return { status: 'ok' };
  const what = compression === 'none' ? '' : ` decompressed`;
  return {
    status: 'damaged',
    detail: counter.bytes !== expected.size
      ? `holds ${counter.bytes} bytes${what}, ${expected.size} listed`
      : `sha256 ${sha256}${what} differs from the listed ${expected.sha256}`,
  };
}
