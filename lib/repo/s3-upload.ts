import { AbortMultipartUploadCommand, DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError, messageOf } from '../errors.ts';
import type { Logger } from '../log.ts';
import { HashCounter } from './hashing.ts';
import { isConditionalConflict, isNotFound, isPreconditionFailed } from './s3-errors.ts';
import { refusalOf, retainVersion, type RetentionHeaders } from './s3-object-lock.ts';
import type { SseParams } from './s3-sse.ts';

// A put in progress, as the client middleware sees it.
interface Watch {
  signal?: AbortSignal;
  /** a request of this upload failed for good (after the SDK's retries) */
  failed(err: unknown): void;
}

// The requests that make an object visible: refused once the put was aborted.
const FINISHING = new Set(['PutObjectCommand', 'CompleteMultipartUploadCommand']);

// Installs a middleware that tells each put when one of its requests failed for good, and refuses to
// finish an upload whose put was aborted; returns the puts in progress, by full key.
export function watchUploads(client: S3Client): Map<string, Watch> {
  const watches = new Map<string, Watch>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: string }).Key;
      const watch = key === undefined ? undefined : watches.get(key);
      if (!watch) return next(args);
      if (watch.signal?.aborted && FINISHING.has(context.commandName ?? '')) throw abortError(watch.signal);
      try {
        return await next(args);
      } catch (err) {
        watch.failed(err);
        throw err;
      }
    },
    // initialize wraps the retry middleware: an error seen here is final
    { step: 'initialize', name: 'pgopsUploadWatch' },
  );
  return watches;
}

// What uploadStream needs: the client and its watches, where to write, and what.
export interface UploadRequest {
  client: S3Client;
  watches: Map<string, Watch>;
  bucket: string;
  key: string;
  body: Readable;
  partSize: number;
  /** server-side encryption of the object (lib/repo/s3-sse.ts): on the PutObject or CreateMultipartUpload */
  sse: SseParams;
  /** object lock (lib/repo/s3-object-lock.ts): the object's retention, on the PutObject or CreateMultipartUpload */
  retention?: RetentionHeaders;
  log: Logger;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
}

// The fields a write with a retention carries: the retention, and a checksum, which AWS requires of a PutObject
// (and of each UploadPart) with object lock headers. With --s3-checksum when-supported the SDK sends CRC32 on every
// write anyway; naming it makes it so with when-required too. The SDK computes it over the part it holds in memory,
// a header beside the body (not an aws-chunked trailer, which RGW 16 answers with 411), so streaming stays as it is.
function lockFields(retention: RetentionHeaders | undefined): Partial<RetentionHeaders> & { ChecksumAlgorithm?: 'CRC32' } {
  return retention ? { ...retention, ChecksumAlgorithm: 'CRC32' } : {};
}

// Why an upload failed: the body (or the abort) is passed on as is, S3's errors get mapped by the caller.
export class UploadFailure extends Error {
  constructor(
    readonly error: unknown,
    readonly fromS3: boolean,
  ) {
    super(messageOf(error));
  }
}

// Streams body to bucket/key through a HashCounter, as one PutObject or a multipart upload; on any
// failure the object never appears and the multipart upload is aborted (or left with a warning).
export async function uploadStream(req: UploadRequest): Promise<{ size: number; sha256: string }> {
  const { client, bucket, key, signal } = req;
  const counter = new HashCounter(req.onProgress);
  let failure: UploadFailure | undefined;
  const stop = (err: unknown, fromS3: boolean) => {
    failure ??= new UploadFailure(err, fromS3);
    // Upload reads the counter: destroying it makes every part uploader stop at its next part, so
    // done() settles only once the parts in flight have, and CompleteMultipartUpload is never sent.
    counter.destroy(err instanceof Error ? err : new Error(messageOf(err)));
  };
  // leavePartsOnError: the abort is ours (below), so that a server without AbortMultipartUpload is handled
  // the parts of a multipart upload need no encryption headers of their own (only SSE-C's would): CreateMultipartUpload
  // carries them for the whole object
  const upload = new Upload({ client, params: { Bucket: bucket, Key: key, Body: counter, ...req.sse, ...lockFields(req.retention) }, partSize: req.partSize, queueSize: partsInFlight(req.partSize), leavePartsOnError: true });
  // An errored or aborted body errors the counter: Upload never sees its end and cannot complete.
  const feed = pipeline(req.body, counter, { signal }).catch((err: unknown) => stop(err, false));
  req.watches.set(key, { signal, failed: (err) => stop(err, true) });
  let completed = false;
  let versionId: string | undefined;
  try {
    versionId = (await upload.done()).VersionId;
    completed = true;
  } catch (err) {
    stop(err, true);
  } finally {
    req.watches.delete(key);
  }
  await feed;
  if (completed && signal?.aborted) {
    // the abort came while the last request was in flight: take back what it wrote
    failure ??= new UploadFailure(abortError(signal), false);
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch((err: unknown) => {
      req.log.warn('s3-abort', `could not delete s3://${bucket}/${key} written by an aborted put: ${messageOf(err)}`, { bucket, key });
    });
  }
  if (!failure && req.retention && upload.uploadId) {
    // a multipart upload: RGW 16 completes it without the retention CreateMultipartUpload asked for
    try {
      await retainVersion(client, bucket, key, versionId, req.retention);
    } catch (err) {
      failure = new UploadFailure(err, true);
      // not retained, so it can be taken back (where this credential may delete versions)
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId })).catch((e: unknown) => {
        req.log.warn('s3-retention', `could not delete s3://${bucket}/${key}, written without its retention (${refusalOf(e)}): it stays until the bucket's lifecycle rule removes it`, { bucket, key, versionId });
      });
    }
  }
  if (failure) {
    if (!completed) await abandon(req, upload.uploadId);
    throw failure;
  }
  return { size: counter.bytes, sha256: counter.digest() };
}

// Aborts a failed multipart upload; where the server cannot, the parts are left to the bucket's lifecycle rule.
async function abandon(req: UploadRequest, uploadId: string | undefined): Promise<void> {
  if (!uploadId) return;
  try {
    await req.client.send(new AbortMultipartUploadCommand({ Bucket: req.bucket, Key: req.key, UploadId: uploadId }));
  } catch (err) {
    if (isNotFound(err)) return;
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    req.log.warn(
      's3-abort',
      `could not abort the multipart upload of s3://${req.bucket}/${req.key} (${status ? `HTTP ${status}: ` : ''}${messageOf(err)}): its parts stay in the bucket until its lifecycle rule removes them`,
      {
        bucket: req.bucket,
        key: req.key,
        uploadId,
        hint: 'give the bucket a lifecycle rule with AbortIncompleteMultipartUpload (e.g. after 7 days) so that abandoned parts are removed',
      },
    );
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return Object.assign(new Error('the operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR', cause: reason });
}

// Parts uploaded at once: each is held in memory, so large parts (a large database) mean fewer at a time.
// About 64 MB in flight: 4 parts of the default 16MB, 1 part from 64MB up.
export function partsInFlight(partSize: number): number {
  return Math.max(1, Math.min(4, Math.floor((64 * 1024 * 1024) / partSize)));
}

// The most a conditional put holds in memory: PostgreSQL's largest WAL segment (wal_segment_size is 1GB at most).
export const CONDITIONAL_PUT_MAX_BYTES = 1024 * 1024 * 1024;
// Tries of a conditional put that AWS answers 409 ConditionalRequestConflict (another conditional write to the key
// was in flight): the next try gets 412 when that one won, or succeeds when it failed.
const CONFLICT_TRIES = 3;

// Writes body to bucket/key only if no object has that key: one PutObject with If-None-Match: * (a multipart upload
// cannot carry the condition everywhere: RGW's CompleteMultipartUpload ignores it), so the body is held in memory,
// up to maxBytes. Resolves 'exists' when the store answers 412; on a store that ignores the header it overwrites
// (the caller knows from the repository's exclusiveCreate, probed at repo init).
export async function conditionalPut(
  req: Omit<UploadRequest, 'watches' | 'partSize' | 'log' | 'sse'> & { sse?: SseParams; maxBytes?: number },
): Promise<{ size: number; sha256: string } | 'exists'> {
  const limit = req.maxBytes ?? CONDITIONAL_PUT_MAX_BYTES;
  const counter = new HashCounter(req.onProgress);
  const chunks: Buffer[] = [];
  let held = 0;
  try {
    await pipeline(req.body, counter, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        held += chunk.length;
        if (held > limit) {
          throw new PgopsError(`cannot publish s3://${req.bucket}/${req.key} without overwriting: it is larger than ${limit} bytes, the most a conditional write holds in memory`, {
            code: ExitCode.FAILED,
            hint: 'a no-overwrite publish to S3 is one PutObject; only WAL files and small records are published so',
          });
        }
        chunks.push(chunk);
      }
    }, { signal: req.signal });
  } catch (err) {
    throw new UploadFailure(err, false);
  }
  const data = Buffer.concat(chunks, held);
  chunks.length = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      await req.client.send(new PutObjectCommand({ Bucket: req.bucket, Key: req.key, Body: data, IfNoneMatch: '*', ...req.sse, ...lockFields(req.retention) }), { abortSignal: req.signal });
      return { size: counter.bytes, sha256: counter.digest() };
    } catch (err) {
      if (isPreconditionFailed(err)) return 'exists';
      if (isConditionalConflict(err) && attempt < CONFLICT_TRIES) continue;
      throw new UploadFailure(req.signal?.aborted ? abortError(req.signal) : err, !req.signal?.aborted);
    }
  }
}
