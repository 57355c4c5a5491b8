import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ExitCode, PgopsError, usageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { RepoObjectLock } from './identity.ts';
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
  type Repo,
  type StoredObject,
} from './repo.ts';
import { createS3Client, endpointOf, type S3Options } from './s3-client.ts';
import { isNotFound, isPreconditionFailed, isUnsupported, s3Error } from './s3-errors.ts';
import { ObjectLockStore, lockedKey, refusalOf, retentionHeaders, type RetentionHeaders } from './s3-object-lock.ts';
import type { RegionProvider } from './s3-region.ts';
import { sseParams, warnUnconfirmedSse, type SseParams } from './s3-sse.ts';
import { UploadFailure, conditionalPut, uploadStream, watchUploads } from './s3-upload.ts';

// What openRepo hands an S3Repo: the parts of the s3:// URL, the s3-* options and the logger.
export interface S3RepoConfig {
  bucket: string;
  /** key prefix without leading or trailing slash; '' for the bucket root */
  prefix: string;
  /** the s3-* option values */
  options: S3Options;
  log: Logger;
  /** objects per ListObjectsV2 page (S3's maximum is 1000); tests make it small to exercise paging */
  pageSize?: number;
}

const MB = 1024 * 1024;
const DEFAULT_PART_SIZE = 16 * MB;
// S3's limits on a part of a multipart upload
const MIN_PART_SIZE = 5 * MB;
const MAX_PART_SIZE = 5 * 1024 * MB;

// A repository under a prefix of an S3 bucket (AWS or any S3-compatible store).
export class S3Repo implements Repo {
  readonly kind = 's3' as const;
  readonly url: string;
  /**
   * Whether the store refuses a PutObject with If-None-Match: * on an existing key (RGW and AWS do, s3rver does not):
   * probeConditionalWrites() tells, repo init records it in pgops-repo.json and openRepo sets it from there. False
   * until then: ifAbsent looks the key up first (a narrow race), and callers verify by reading back.
   */
  exclusiveCreate = false;
  /**
   * The retention each object of a set and each archived WAL file is written with (pgops-repo.json's objectLock, set
   * by openRepo for a writer; lib/repo/s3-object-lock.ts says which keys); undefined: none is asked for, though a
   * bucket's default retention still applies to what is written.
   */
  objectLock?: RepoObjectLock;
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly region: RegionProvider;
  private readonly options: S3Options;
  /** the encryption headers of every object write (--s3-sse, --s3-sse-kms-key-id) */
  private readonly sse: SseParams;
  private readonly log: Logger;
  private readonly partSize: number;
  private readonly pageSize: number | undefined;
  private readonly watches: ReturnType<typeof watchUploads>;
  private lockStore?: ObjectLockStore;

  constructor(config: S3RepoConfig) {
    this.bucket = config.bucket;
    this.prefix = config.prefix.replace(/^\/+|\/+$/g, '');
    this.url = `s3://${this.bucket}/${this.prefix}`;
    this.log = config.log;
    this.options = config.options;
    this.sse = sseParams(config.options);
    this.partSize = config.options.s3PartSize ?? DEFAULT_PART_SIZE;
    if (this.partSize < MIN_PART_SIZE || this.partSize > MAX_PART_SIZE) {
      throw usageError(`invalid --s3-part-size ${this.partSize} bytes: S3 parts are 5MB to 5GB`, 'pass --s3-part-size between 5MB and 5GB (16MB by default)');
    }
    this.pageSize = config.pageSize;
    ({ client: this.client, region: this.region } = createS3Client(config.options));
    this.watches = watchUploads(this.client);
  }

  /** the object key of a repository key */
  private full(key: string): string {
    checkKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /**
   * The region requests are signed for: --s3-region, else the environment's or the AWS profile's (lib/repo/s3-region.ts);
   * what a command started elsewhere (restore_command) must be given, since its environment may have no profile.
   */
  resolvedRegion(): Promise<string> {
    return this.region();
  }

  /** the endpoint requests go to, for messages (AWS's is named after the region, known after the first request) */
  private get endpoint(): string {
    return endpointOf(this.options, this.region.known);
  }

  private fail(err: unknown, action: string, key?: string, write = false): PgopsError {
    return s3Error(err, { action, key, bucket: this.bucket, endpoint: this.endpoint, write, sse: this.sse });
  }

  /** the retention a write of key starts now carries, when the repository asks for one and key is one it locks */
  private retentionFor(key: string): RetentionHeaders | undefined {
    return this.objectLock && lockedKey(key) ? retentionHeaders(this.objectLock, new Date()) : undefined;
  }

  /** the bucket's object lock configuration, object versions, what holds them and their deletion (repo init, prune) */
  get locks(): ObjectLockStore {
    this.lockStore ??= new ObjectLockStore({
      client: this.client,
      bucket: this.bucket,
      root: this.prefix ? `${this.prefix}/` : '',
      fail: (err, action, key) => this.fail(err, action, key),
      pageSize: this.pageSize,
    });
    return this.lockStore;
  }

  /**
   * Deletes an object this writer wrote and no longer wants (a check's probe, the data object of a refused publish).
   * A refusal is no failure of the task: a write-only credential has no s3:DeleteObject, and on a versioned bucket
   * the version stays anyway; the warning names what is left, for the bucket's lifecycle rule to remove.
   */
  private async deleteOwn(full: string, what: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full }));
    } catch (err) {
      if (isNotFound(err)) return;
      this.log.warn('s3-cleanup', `could not delete ${what} s3://${this.bucket}/${full} (${refusalOf(err)}): it stays until the bucket's lifecycle rule removes it`, {
        bucket: this.bucket,
        key: full,
        hint: "expected with a write-only credential (no s3:DeleteObject); give the bucket a lifecycle rule that expires noncurrent versions and objects below the repository's prefix that pgops does not list",
      });
    }
  }

  /**
   * Writes and deletes a probe object, carrying the encryption every write carries; warns when the store's answer does
   * not confirm that encryption (it ignored the headers: the objects are stored as its default has them). A refused
   * delete is a warning only: a write-only credential (object lock's runbook) may not delete.
   */
  async check(): Promise<void> {
    const probe = this.full(`.pgops-check-${randomBytes(4).toString('hex')}`);
    let answer: { ServerSideEncryption?: string };
    try {
      answer = await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: 'pgops', ...this.sse }));
    } catch (err) {
      const mapped = this.fail(err, 'write of a probe object to', probe, true);
      // whatever stops the probe, the task cannot run: exit 3
      throw mapped.code === ExitCode.UNKNOWN
        ? mapped
        : new PgopsError(`repository ${this.url} is not writable: ${mapped.message}`, { code: ExitCode.UNKNOWN, hint: mapped.hint, cause: err });
    }
    // the repository is writable: whether this credential may also delete is prune's concern, not this task's
    await this.deleteOwn(probe, 'the probe object of a check');
    warnUnconfirmedSse(this.log, this.sse, answer, { endpoint: this.endpoint, bucket: this.bucket });
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const full = this.full(key);
    if (opts.ifAbsent) return this.putIfAbsent(key, full, body, opts);
    try {
      const { size, sha256 } = await uploadStream({
        client: this.client,
        watches: this.watches,
        bucket: this.bucket,
        key: full,
        body,
        partSize: partSizeFor(this.partSize, opts.sizeHint),
        sse: this.sse,
        retention: this.retentionFor(key),
        log: this.log,
        signal: opts.signal,
        onProgress: opts.onProgress,
      });
      return { key, size, sha256 };
    } catch (err) {
      if (!(err instanceof UploadFailure)) throw this.fail(err, 'upload of', full, true);
      // the body's own error (or the abort) is the caller's to see as it was
      throw err.fromS3 ? this.fail(err.error, 'upload of', full, true) : err.error;
    }
  }

  // put with ifAbsent: a conditional PutObject where the store honours it, else a lookup and a plain put.
  private async putIfAbsent(key: string, full: string, body: Readable, opts: PutOptions): Promise<PutResult> {
    if (!this.exclusiveCreate) {
      if (await this.exists(key)) {
        body.destroy();
        throw new AlreadyExistsError(key, this.url);
      }
      return this.put(key, body, { ...opts, ifAbsent: false });
    }
    try {
      const put = await conditionalPut({ client: this.client, bucket: this.bucket, key: full, body, sse: this.sse, retention: this.retentionFor(key), signal: opts.signal, onProgress: opts.onProgress });
      if (put === 'exists') throw new AlreadyExistsError(key, this.url);
      return { key, ...put };
    } catch (err) {
      if (!(err instanceof UploadFailure)) throw err;
      throw err.fromS3 ? this.fail(err.error, 'upload of', full, true) : err.error;
    }
  }

  putBytes(key: string, data: string | Buffer, opts: PutBytesOptions = {}): Promise<PutResult> {
    return this.put(key, Readable.from([Buffer.from(data)]), opts);
  }

  publishMarked(p: MarkedPublish): Promise<MarkedResult> {
    // a refused publish takes back the data object it created (marked-put.ts): a refusal of that delete (a write-only
    // credential) must not hide why the publish was refused, so this view of the repository only warns of it
    const view = Object.create(this, {
      delete: { value: async (keys: string[]) => { for (const key of keys) await this.deleteOwn(this.full(key), 'the data object of a refused publish'); } },
    }) as S3Repo;
    return publishMarkedInSteps(view, p);
  }

  /**
   * Whether the store refuses to overwrite on If-None-Match: * : puts a probe object twice with the header, true when
   * the second is refused (412); a store that rejects the header itself (501, 400) counts as false. Deletes the probe.
   */
  async probeConditionalWrites(): Promise<boolean> {
    const probe = this.full(`.pgops-probe-${randomBytes(4).toString('hex')}`);
    const put = () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: 'pgops', IfNoneMatch: '*', ...this.sse }));
    try {
      try {
        await put();
      } catch (err) {
        if (isUnsupported(err)) return false;
        throw this.fail(err, 'conditional write of a probe object to', probe, true);
      }
      try {
        await put();
        return false;
      } catch (err) {
        if (isPreconditionFailed(err)) return true;
        if (isUnsupported(err)) return false;
        throw this.fail(err, 'conditional write of a probe object to', probe, true);
      }
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: probe })).catch((err: unknown) => {
        this.log.warn('s3-probe', `could not delete the probe object s3://${this.bucket}/${probe}: ${this.fail(err, 'delete of', probe).message}`, { bucket: this.bucket, key: probe });
      });
    }
  }

  async get(key: string): Promise<Readable> {
    const full = this.full(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full }));
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(key, this.url);
      throw this.fail(err, 'download of', full);
    }
  }

  async getBytes(key: string): Promise<Buffer> {
    const full = this.full(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(key, this.url);
      throw this.fail(err, 'download of', full);
    }
  }

  localPath(): undefined {
    return undefined;
  }

  async exists(key: string): Promise<boolean> {
    const full = this.full(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw this.fail(err, 'lookup of', full);
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const root = this.prefix ? `${this.prefix}/` : '';
    const listPrefix = this.listPrefix(prefix);
    const out: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: listPrefix, ContinuationToken: token, MaxKeys: this.pageSize }),
        );
        for (const o of res.Contents ?? []) {
          if (!o.Key) continue;
          out.push({ key: o.Key.slice(root.length), size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.fail(err, 'listing of', listPrefix || '/');
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async hasAny(prefix: string): Promise<boolean> {
    const listPrefix = this.listPrefix(prefix);
    try {
      const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: listPrefix, MaxKeys: 1 }));
      return (res.KeyCount ?? res.Contents?.length ?? 0) > 0;
    } catch (err) {
      throw this.fail(err, 'listing of', listPrefix || '/');
    }
  }

  /**
   * The repositories beside this one, for "did you mean": its parent prefix and the sibling prefixes whose last
   * segment `near` accepts (one page of them), each as s3://bucket/prefix, that hold `file`.
   */
  async neighbours(file: string, near: (name: string) => boolean): Promise<string[]> {
    const cut = this.prefix.lastIndexOf('/');
    const parent = cut < 0 ? '' : this.prefix.slice(0, cut);
    const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: parent ? `${parent}/` : '', Delimiter: '/', MaxKeys: 1000 }));
    const siblings = (res.CommonPrefixes ?? [])
      .map((p) => (p.Prefix ?? '').replace(/\/$/, ''))
      .filter((p) => p && p !== this.prefix && near(p.slice(p.lastIndexOf('/') + 1)));
    const found: string[] = [];
    for (const prefix of [...siblings, ...(this.prefix ? [parent] : [])]) {
      const key = prefix ? `${prefix}/${file}` : file;
      const hit = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })).then(() => true, () => false);
      if (hit) found.push(`s3://${this.bucket}/${prefix}`);
    }
    return found;
  }

  // The S3 prefix of a folder-like repository prefix: list('a') holds a/x but not ab/x.
  private listPrefix(prefix: string): string {
    const root = this.prefix ? `${this.prefix}/` : '';
    const below = prefix.replace(/^\/+|\/+$/g, '');
    return below ? `${root}${below}/` : root;
  }

  async delete(keys: string[]): Promise<void> {
    // one at a time, in order: callers delete a set's manifest first so that a half-done delete
    // leaves an incomplete set, never a manifest pointing at missing files
    for (const key of keys) {
      const full = this.full(key);
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full }));
      } catch (err) {
        if (isNotFound(err)) continue;
        throw this.fail(err, 'delete of', full);
      }
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

// S3 allows 10,000 parts: a body that may grow past partSize * 9,000 gets larger parts (rounded up to a MiB).
export function partSizeFor(configured: number, sizeHint?: number): number {
  if (!sizeHint) return configured;
  const needed = Math.ceil(sizeHint / 9000 / (1024 * 1024)) * 1024 * 1024;
  return Math.min(MAX_PART_SIZE, Math.max(configured, needed));
}
