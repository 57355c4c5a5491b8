import type { Readable } from 'node:stream';
import { ExitCode, PgopsError } from '../errors.ts';

// One object as a listing returns it: key relative to the repository root.
export interface StoredObject {
  key: string;
  size: number;
  modified: Date;
}

// What a put wrote: computed while streaming, never by reading back.
export interface PutResult {
  key: string;
  size: number;
  sha256: string;
}

export interface PutOptions {
  /** aborting removes whatever was written and rejects */
  signal?: AbortSignal;
  /** called with the running byte count as data passes */
  onProgress?: (bytes: number) => void;
  /** the most the body may hold, when known: s3 grows its parts so that 10,000 of them fit it */
  sizeHint?: number;
  /**
   * Never replace an existing object: rejects with AlreadyExistsError when key exists (what is there stays as it
   * was). Atomic where the repository's exclusiveCreate is true; elsewhere a lookup before the write, and the caller
   * verifies what it published by reading it back. A request retried after a lost answer may find its own object:
   * compare the content where that matters. s3 holds such a body in memory (it is sent as one PutObject).
   */
  ifAbsent?: boolean;
}

// What putBytes takes: the no-overwrite publish and the abort of put.
export type PutBytesOptions = Pick<PutOptions, 'ifAbsent' | 'signal'>;

// The storage a repository lives in. Implementations: file (lib/repo/file.ts) and s3 (lib/repo/s3.ts).
export interface Repo {
  /** the repository URL, safe to print */
  readonly url: string;
  readonly kind: 'file' | 's3';
  /**
   * true when put with ifAbsent is atomic: of writers racing for one key, exactly one succeeds and every other gets
   * AlreadyExistsError (file: link(2); s3: If-None-Match on a store that honours it, recorded at repo init)
   */
  readonly exclusiveCreate: boolean;
  /** Proves the repository can be reached and written; throws PgopsError (exit 3) with a hint otherwise. */
  check(): Promise<void>;
  /**
   * Streams body into key, hashing and counting on the way. The object appears whole or not at all:
   * on failure or abort the partial write is removed (s3: the multipart upload is aborted, or left to the
   * bucket's lifecycle rule with a warning where the server cannot abort) and the promise rejects.
   */
  put(key: string, body: Readable, opts?: PutOptions): Promise<PutResult>;
  /** put for small contents held in memory */
  putBytes(key: string, data: string | Buffer, opts?: PutBytesOptions): Promise<PutResult>;
  /** Opens key for reading; rejects with NotFoundError when it does not exist. */
  get(key: string): Promise<Readable>;
  /** get for small objects; rejects with NotFoundError when key does not exist */
  getBytes(key: string): Promise<Buffer>;
  /** A local path for key where the repository is a local folder (pg_restore can seek it), else undefined. */
  localPath(key: string): string | undefined;
  exists(key: string): Promise<boolean>;
  /** Every object below prefix, recursively, sorted by key. An absent prefix lists nothing. */
  list(prefix: string): Promise<StoredObject[]>;
  /** True when at least one object lies below prefix (one request, however many there are). */
  hasAny(prefix: string): Promise<boolean>;
  /** Deletes the keys one after another in the order given; a key that does not exist is not an error. */
  delete(keys: string[]): Promise<void>;
  close(): Promise<void>;
}

// Thrown by get and getBytes when the key does not exist.
export class NotFoundError extends PgopsError {
  constructor(key: string, repoUrl: string) {
    super(`${key} does not exist in repository ${repoUrl}`, { code: ExitCode.NOT_FOUND });
    this.name = 'NotFoundError';
  }
}

// Thrown by put and putBytes with ifAbsent when the key exists already: nothing was written.
export class AlreadyExistsError extends PgopsError {
  constructor(
    readonly key: string,
    repoUrl: string,
  ) {
    super(`${key} exists already in repository ${repoUrl}: nothing was overwritten`, {
      code: ExitCode.FAILED,
      hint: 'another writer published it first; pgops never replaces an object it published',
    });
    this.name = 'AlreadyExistsError';
  }
}

// Rejects keys that could escape the repository root.
export function checkKey(key: string): string {
  if (!key || key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '.' || p === '')) {
    throw new PgopsError(`invalid repository key "${key}"`, { code: ExitCode.UNKNOWN });
  }
  return key;
}
