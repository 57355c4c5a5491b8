import type { Readable } from 'node:stream';
import { ExitCode, PgopsError } from '../errors.ts';
import type { Encoder } from '../age/index.ts';
import type { Digest, OpenFile } from './open-file.ts';

// One object as a listing returns it: key relative to the repository root.
export interface StoredObject {
  key: string;
  size: number;
  modified: Date;
}

// What a put wrote: computed while streaming, never by reading back. size and sha256 are of the bytes the caller
// handed over; in an encrypted repository (lib/repo/sealed.ts) sealed is the stored age file's.
export interface PutResult {
  key: string;
  size: number;
  sha256: string;
  sealed?: Digest;
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

// A data object and the marker that commits it, published without overwriting either (wal push: a WAL file and its
// sidecar). The marker is a small object in the same folder, written after the data object.
export interface MarkedPublish {
  key: string;
  /** an open file, read from its start (a file repository copies it in place, s3 streams it), or a stream */
  body: OpenFile | Readable;
  markerKey: string;
  /**
   * The marker's text. written: size and sha256 of the bytes this publish wrote for key; undefined when key existed
   * and onExists accepted what is there without a copy being made (s3). A file repository makes the marker from its
   * copy before it links either file, so it passes the copy even when key turns out to exist (onExists then accepts
   * only the same content). Throwing refuses the publish: nothing this call wrote stays. sealed: in an encrypted
   * repository, size and sha256 of the stored age file (the data object there, whoever wrote it); written is then
   * what went into the encryption.
   */
  markerText: (written: Digest | undefined, sealed?: Digest) => string | Promise<string>;
  /**
   * Called when key exists already (nothing of this publish is there): resolves to publish the marker beside what is
   * there, rejects to refuse. written: what this publish had copied when the repository knows it (a file
   * repository's copy), for the comparison. Rejecting with NotFoundError means it vanished meanwhile (the caller may
   * run the publish again).
   */
  onExists: (written: Digest | undefined) => Promise<void>;
  signal?: AbortSignal;
  /**
   * an encrypted repository's encryptor (lib/repo/sealed.ts): a file repository then stores the age file of an open
   * file's body as it copies it, in the same one pass (markerText gets both digests); others ignore it
   */
  encode?: Encoder;
}

// How publishMarked ended.
export interface MarkedResult {
  /** this publish created the data object (false: onExists accepted the one there) */
  created: boolean;
  /** the marker existed: this publish's was not written (the caller reads the one there, another writer's) */
  markerExisted: boolean;
}

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
  /**
   * Publishes a data object, then its marker (MarkedPublish), each as put with ifAbsent: nothing is ever overwritten.
   * file: both are copied to temp files and linked into place with one fsync of the folder (the data before the
   * marker); s3: a put of each, conditional where exclusiveCreate is true (elsewhere the caller reads back what it
   * published). A failure or abort leaves no temp file and no marker; a data object this call created may stay
   * (s3: removed again when markerText refused it), as a crashed writer's would.
   */
  publishMarked(p: MarkedPublish): Promise<MarkedResult>;
  /**
   * Opens key for reading; rejects with NotFoundError when it does not exist. sealed: in an encrypted repository, the
   * stored age file's listed digest, checked as it is read (the stream fails with INTEGRITY at its end otherwise).
   */
  get(key: string, opts?: { sealed?: Digest }): Promise<Readable>;
  /** get for small objects; rejects with NotFoundError when key does not exist */
  getBytes(key: string): Promise<Buffer>;
  /**
   * A local path for key where the repository is a local folder, for reading in place (pg_restore seeks its dump),
   * else undefined. Never for writing: writes go through put, putBytes and publishMarked.
   */
  localPath(key: string): string | undefined;
  /**
   * file only: a folder inside the repository, under prefix, for a program that writes its files itself
   * (pg_basebackup -D), and the way its files are published under keys without a copy. Undefined on s3.
   */
  scratchFolder?(prefix: string): Promise<ScratchFolder>;
  exists(key: string): Promise<boolean>;
  /** Every object below prefix, recursively, sorted by key. An absent prefix lists nothing. */
  list(prefix: string): Promise<StoredObject[]>;
  /** True when at least one object lies below prefix (one request, however many there are). */
  hasAny(prefix: string): Promise<boolean>;
  /** Deletes the keys one after another in the order given; a key that does not exist is not an error. */
  delete(keys: string[]): Promise<void>;
  close(): Promise<void>;
}

// A folder a program writes into inside a file repository (Repo.scratchFolder). Its name carries the temp mark, so
// listings and clean-ups treat whatever a crash leaves in it as a temp file (isTempKey).
export interface ScratchFolder {
  /** the folder, empty when handed out */
  readonly path: string;
  /**
   * Gives a file of the folder the name key without copying (link(2): never over an existing key, AlreadyExistsError
   * then) and makes the name durable (fsync of key's folder). The program wrote and fsynced the file itself.
   */
  publish(file: string, key: string): Promise<void>;
  /** removes the folder and what is left in it */
  remove(): Promise<void>;
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
