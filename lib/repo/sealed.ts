import { createHash } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { AgeNoIdentityError, VERSION_LINE, createEncoder, decryptBytes, decryptStream, encryptBytes, encryptStream, type Identity, type Recipient } from '../age/index.ts';
import { ExitCode, PgopsError } from '../errors.ts';
import { decryptError } from './encryption.ts';
import { hashStream } from './hashing.ts';
import { publishMarkedInSteps } from './marked-put.ts';
import { readFromStart, type Digest } from './open-file.ts';
import type { MarkedPublish, MarkedResult, PutBytesOptions, PutOptions, PutResult, Repo, StoredObject } from './repo.ts';
import { openDocument, sealDocument, storageOf } from './sealed-json.ts';

// An encrypted repository: the storage underneath (raw) holds age files, and this Repo is what tasks see. Writes
// encrypt as they stream (lib/age/, one 64 KiB chunk at a time) to the repository's recipients; reads decrypt with
// the task's identities. size and sha256 of a put are of what the caller handed over (the plaintext: what a reader
// gets back), `sealed` of what is stored. Which objects stay plain, or plain with sealed fields, is
// lib/repo/sealed-json.ts's table. An object written before the repository was encrypted (no age header) is read as
// it is: its manifest's sha256 vouches for it as before.
//
// No object is read in place (localPath) or written in place (scratchFolder): the stored bytes are not the file.

export interface SealedKeys {
  /** what writes encrypt to; undefined for a task that only reads (a put then throws) */
  recipients?: Recipient[];
  /** what reads decrypt with; undefined for a task that only lists (a get of an encrypted object then throws) */
  identities?: Identity[];
}

export class SealedRepo implements Repo {
  readonly kind: Repo['kind'];
  readonly url: string;

  constructor(
    readonly raw: Repo,
    private readonly held: SealedKeys,
  ) {
    this.kind = raw.kind;
    this.url = raw.url;
  }

  get exclusiveCreate(): boolean {
    return this.raw.exclusiveCreate;
  }

  /** the identities and recipients the task holds (repo rekey); throws when it lacks either */
  keys(): { identities: Identity[]; recipients: Recipient[] } {
    return { identities: this.identities('its files'), recipients: this.recipients('its files') };
  }

  /** size and sha256 of the age file stored under key, read as it is stored (no key needed) */
  async storedDigest(key: string): Promise<Digest> {
    return hashStream(await this.raw.get(key));
  }

  /** a reader of this repository can decrypt (the task was given an identity) */
  get canRead(): boolean {
    return this.held.identities !== undefined;
  }

  check(): Promise<void> {
    return this.raw.check();
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    const storage = storageOf(key);
    if (storage.kind !== 'age') {
      // plain and sealed documents are small: sealed fields are sealed by putBytes
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      return this.putBytes(key, Buffer.concat(chunks), opts);
    }
    const enc = encryptStream(this.recipients(key));
    // the body's errors reach the put through enc, which they destroy
    pipeline(body, enc, () => {});
    let stored: PutResult;
    try {
      stored = await this.raw.put(key, enc, { ...opts, sizeHint: opts.sizeHint === undefined ? undefined : sealedSizeBound(opts.sizeHint) });
    } catch (err) {
      // a put that gave up before reading everything must not leave the body waiting on enc
      enc.destroy();
      throw err;
    }
    const plain = enc.plain();
    return { key, size: plain.size, sha256: plain.sha256, sealed: { size: stored.size, sha256: stored.sha256 } };
  }

  async putBytes(key: string, data: string | Buffer, opts: PutBytesOptions = {}): Promise<PutResult> {
    const storage = storageOf(key);
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (storage.kind === 'plain') return this.raw.putBytes(key, bytes, opts);
    const stored =
      storage.kind === 'sealed'
        ? Buffer.from(JSON.stringify(sealDocument(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>, storage.plain, this.recipients(key)), null, 2) + '\n')
        : encryptBytes(bytes, this.recipients(key));
    const r = await this.raw.putBytes(key, stored, opts);
    const plain = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    return { key, ...plain, sealed: { size: r.size, sha256: r.sha256 } };
  }

  // The data object through put (encrypted), the marker through putBytes (plain): the two-step publish. A data object
  // found there (another writer's, or a crashed one's) is a different age file of the same content: the marker is
  // then given the stored file's own digest.
  async publishMarked(p: MarkedPublish): Promise<MarkedResult> {
    if (storageOf(p.key).kind !== 'age') return this.raw.publishMarked(p);
    // a file repository copies an open file in one pass, encrypting each piece it reads (wal push's fast path)
    if (this.raw.kind === 'file' && 'handle' in p.body) return this.raw.publishMarked({ ...p, encode: createEncoder(this.recipients(p.key)) });
    const body = 'handle' in p.body ? readFromStart(p.body.handle) : p.body;
    return publishMarkedInSteps(this, {
      ...p,
      body,
      markerText: async (written, sealed) => p.markerText(written, sealed ?? (await this.storedDigest(p.key))),
    });
  }

  async get(key: string, opts: { sealed?: Digest } = {}): Promise<Readable> {
    const source = await this.raw.get(key);
    if (storageOf(key).kind !== 'age') return source;
    return this.decrypting(key, source, opts.sealed);
  }

  async getBytes(key: string): Promise<Buffer> {
    const data = await this.raw.getBytes(key);
    const storage = storageOf(key);
    if (storage.kind === 'plain') return data;
    if (storage.kind === 'sealed') {
      // without an identity the plain fields are what there is to read (listing, status, prune)
      if (!this.held.identities) return data;
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      } catch {
        return data;
      }
      try {
        return Buffer.from(JSON.stringify(openDocument(doc, this.held.identities)));
      } catch (err) {
        // sealed for other recipients (before a key change): its plain fields still list it, and the files it lists,
        // sealed for the same recipients, stop the task with the key error before anything is written
        if (err instanceof AgeNoIdentityError) return data;
        throw decryptError(err, key, this.url);
      }
    }
    if (!data.subarray(0, VERSION_LINE.length).equals(VERSION_LINE)) return data;
    try {
      return decryptBytes(data, this.identities(key));
    } catch (err) {
      throw decryptError(err, key, this.url);
    }
  }

  localPath(): string | undefined {
    return undefined;
  }

  exists(key: string): Promise<boolean> {
    return this.raw.exists(key);
  }

  list(prefix: string): Promise<StoredObject[]> {
    return this.raw.list(prefix);
  }

  hasAny(prefix: string): Promise<boolean> {
    return this.raw.hasAny(prefix);
  }

  delete(keys: string[]): Promise<void> {
    return this.raw.delete(keys);
  }

  close(): Promise<void> {
    return this.raw.close();
  }

  // The plaintext of an age object as it authenticates, or the object itself when it has no age header (written
  // before the repository was encrypted). Decryption errors become PgopsErrors (exit 6 for tampering).
  private decrypting(key: string, source: Readable, sealed?: Digest): Readable {
    const identities = () => this.identities(key);
    const url = this.url;
    const hash = createHash('sha256');
    let size = 0;
    const counted = (c: Buffer) => {
      hash.update(c);
      size += c.length;
      return c;
    };
    // the stored bytes against the digest listed for them, once they are all read
    const checkStored = () => {
      if (!sealed) return;
      const sha256 = hash.digest('hex');
      if (sha256 === sealed.sha256 && size === sealed.size) return;
      throw new PgopsError(`checksum mismatch in ${key}: the stored age file has sha256 ${sha256} (${size} bytes), ${sealed.sha256} (${sealed.size} bytes) is listed for it`, {
        code: ExitCode.INTEGRITY,
        hint: 'the stored file was replaced or damaged after it was written: restore another backup (pgops backups list)',
      });
    };
    async function* plaintext(): AsyncGenerator<Buffer> {
      const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      try {
        let head = Buffer.alloc(0);
        while (head.length < VERSION_LINE.length) {
          const next = await chunks.next();
          if (next.done) break;
          head = Buffer.concat([head, counted(next.value)]);
        }
        async function* stored(): AsyncGenerator<Buffer> {
          if (head.length) yield head;
          for (;;) {
            const next = await chunks.next();
            if (next.done) break;
            yield counted(next.value);
          }
          checkStored();
        }
        if (!head.subarray(0, VERSION_LINE.length).equals(VERSION_LINE)) {
          yield* stored();
          return;
        }
        const dec = decryptStream(identities());
        const input = Readable.from(stored());
        input.on('error', (err) => dec.destroy(err));
        input.pipe(dec);
        try {
          for await (const c of dec) yield c as Buffer;
        } catch (err) {
          throw decryptError(err, key, url);
        } finally {
          input.destroy();
        }
      } finally {
        source.destroy();
      }
    }
    return Readable.from(plaintext(), { objectMode: false, highWaterMark: 1024 * 1024 });
  }

  private recipients(key: string): Recipient[] {
    if (this.held.recipients) return this.held.recipients;
    throw new PgopsError(`cannot write ${key} into ${this.url}: this task holds no recipient of the repository's encryption`, { code: ExitCode.UNKNOWN, hint: 'a bug: a writer opens the repository with writer: true' });
  }

  private identities(key: string): Identity[] {
    if (this.held.identities) return this.held.identities;
    throw new PgopsError(`${key} in ${this.url} is encrypted, and this task was given no identity to read it`, {
      code: ExitCode.UNKNOWN,
      hint: 'pass --identity FILE (or set PGOPS_AGE_IDENTITY_FILE); runbooks/encryption.md',
    });
  }
}

// An encrypted repository opened by a task that holds no identity (a writer, verify without --deep): what it can
// check of a stored file is the age file itself, against the sealed digest listed for it.
export function keyless(repo: Repo): repo is SealedRepo {
  return repo instanceof SealedRepo && !repo.canRead;
}

// The most an age file of n plaintext bytes can take: the header (a few hundred bytes per recipient), the nonce and
// 16 bytes of tag per 64 KiB chunk. For S3's part sizing only.
export function sealedSizeBound(n: number): number {
  return n + Math.ceil(n / 65536 + 1) * 16 + 16 + 64 * 1024;
}
