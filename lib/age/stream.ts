import crypto from 'node:crypto';
import { Transform } from 'node:stream';
import { AgeError, AgeFormatError, AgeIntegrityError } from './errors.ts';
import { FILE_KEY_BYTES, HeaderScanner, MAX_HEADER_BYTES, type StanzaInfo, checkMac, parseHeader, serializeHeader } from './header.ts';
import { type Identity, type Recipient, unwrapFileKey, wrapFileKey } from './keys.ts';

// age's payload: a 16-byte nonce, then the plaintext in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
// HKDF(file key, nonce, "payload") and the chunk nonce counter || last flag. The flag on the final chunk is what
// makes a file cut at a chunk boundary an error rather than a shorter plaintext.
//
// Sealer and Opener do the work synchronously through an emit callback, so that the Transforms and the small-buffer
// helpers are one code path. Each holds one chunk; a write of a whole chunk or more is sealed or opened in place.

/** plaintext bytes per chunk */
const CHUNK = 64 * 1024;
const TAG = 16;
const SEALED_CHUNK = CHUNK + TAG;
const NONCE_BYTES = 16;

export interface Sealed {
  size: number;
  /** hex */
  sha256: string;
}

type Emit = (bytes: Buffer) => void;

function payloadKey(fileKey: Buffer, nonce: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

// 11-byte big-endian chunk counter, then the last flag.
function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(Math.floor(counter / 2 ** 32), 3);
  nonce.writeUInt32BE(counter >>> 0, 7);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

function sealChunk(key: Buffer, counter: number, last: boolean, plain: Buffer, emit: Emit): void {
  const cipher = crypto.createCipheriv('chacha20-poly1305', key, chunkNonce(counter, last), { authTagLength: TAG });
  const sealed = cipher.update(plain);
  if (sealed.length > 0) emit(sealed);
  cipher.final();
  emit(cipher.getAuthTag());
}

// The plaintext of a sealed chunk, or undefined when it does not authenticate under that counter and flag.
function openChunk(key: Buffer, counter: number, last: boolean, sealed: Buffer): Buffer | undefined {
  const decipher = crypto.createDecipheriv('chacha20-poly1305', key, chunkNonce(counter, last), { authTagLength: TAG });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  const plain = decipher.update(sealed.subarray(0, sealed.length - TAG));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return plain;
}

// Encrypts to recipients: write the plaintext, then end. Wraps the file key at construction, so that a bad recipient
// throws before any byte is taken.
class Sealer {
  private readonly head: Buffer;
  private readonly key: Buffer;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  private fill = 0;
  private counter = 0;
  private started = false;
  private readonly hash: crypto.Hash | undefined;
  private size = 0;

  // hash: whether end() reports the plaintext's sha256 (the small-buffer helpers skip it: it costs as much as the cipher)
  constructor(recipients: Recipient[], hash = true) {
    this.hash = hash ? crypto.createHash('sha256') : undefined;
    const fileKey = crypto.randomBytes(FILE_KEY_BYTES);
    const nonce = crypto.randomBytes(NONCE_BYTES);
    this.head = Buffer.concat([serializeHeader(wrapFileKey(fileKey, recipients), fileKey), nonce]);
    this.key = payloadKey(fileKey, nonce);
  }

  write(data: Buffer, emit: Emit): void {
    this.start(emit);
    this.hash?.update(data);
    this.size += data.length;
    let off = 0;
    while (off < data.length) {
      // a held full chunk is sealed only now that more plaintext follows: until then it might be the last one
      if (this.fill === CHUNK) this.seal(this.buf, false, emit);
      if (this.fill === 0 && data.length - off > CHUNK) {
        this.seal(data.subarray(off, off + CHUNK), false, emit);
        off += CHUNK;
        continue;
      }
      const n = Math.min(CHUNK - this.fill, data.length - off);
      data.copy(this.buf, this.fill, off, off + n);
      this.fill += n;
      off += n;
    }
  }

  // Seals the final chunk (empty only when the whole plaintext is) and returns the plaintext's size and sha256.
  end(emit: Emit): Sealed {
    this.start(emit);
    this.seal(this.buf.subarray(0, this.fill), true, emit);
    return { size: this.size, sha256: this.hash?.digest('hex') ?? '' };
  }

  private start(emit: Emit): void {
    if (this.started) return;
    this.started = true;
    emit(this.head);
  }

  private seal(plain: Buffer, last: boolean, emit: Emit): void {
    sealChunk(this.key, this.counter++, last, plain, emit);
    this.fill = 0;
  }
}

// Decrypts with identities: write the age file in pieces of any size, then end. Emits plaintext chunk by chunk, each
// once it authenticates; throws AgeFormatError, AgeNoIdentityError or AgeIntegrityError (errors.ts says when).
class Opener {
  private state: 'header' | 'nonce' | 'payload' | 'done' = 'header';
  private head: Buffer | undefined = Buffer.allocUnsafe(1024);
  private headLen = 0;
  private readonly scanner = new HeaderScanner();
  private readonly nonce = Buffer.alloc(NONCE_BYTES);
  private nonceLen = 0;
  private fileKey: Buffer | undefined;
  private key: Buffer | undefined;
  private readonly buf = Buffer.allocUnsafe(SEALED_CHUNK);
  private fill = 0;
  private counter = 0;
  private readonly hash: crypto.Hash | undefined;
  private size = 0;
  stanzas: StanzaInfo[] = [];

  constructor(
    private readonly identities: Identity[],
    hash = true,
  ) {
    this.hash = hash ? crypto.createHash('sha256') : undefined;
  }

  write(data: Buffer, emit: Emit): void {
    let off = 0;
    while (off < data.length) {
      if (this.state === 'header') off = this.takeHeader(data, off);
      else if (this.state === 'nonce') off = this.takeNonce(data, off);
      else if (this.state === 'done') throw new AgeIntegrityError('trailing data after the final chunk of the age file');
      else if (this.fill === 0 && data.length - off >= SEALED_CHUNK) {
        this.openFull(data.subarray(off, off + SEALED_CHUNK), emit);
        off += SEALED_CHUNK;
      } else {
        const n = Math.min(SEALED_CHUNK - this.fill, data.length - off);
        data.copy(this.buf, this.fill, off, off + n);
        this.fill += n;
        off += n;
        if (this.fill === SEALED_CHUNK) {
          this.fill = 0;
          this.openFull(this.buf, emit);
        }
      }
    }
  }

  // Checks the input ended where the file does, opens a short final chunk, and returns the plaintext's size and sha256.
  end(emit: Emit): Sealed {
    if (this.state === 'header') {
      if (this.headLen === 0) throw new AgeFormatError('not an age file: the input is empty', { hint: 'the file is empty: it was never written, or was cut' });
      throw new AgeIntegrityError('truncated age file: the input ends inside the header');
    }
    if (this.state === 'nonce') throw new AgeIntegrityError('truncated age file: the input ends inside the payload nonce');
    if (this.state === 'payload') {
      const { counter, fill } = this;
      if (fill === 0) {
        throw new AgeIntegrityError(counter === 0 ? 'truncated age file: no chunk after the payload nonce' : `truncated age file: the input ends after chunk ${counter}, which is not marked final`);
      }
      if (fill < TAG) throw new AgeIntegrityError('truncated age file: the last chunk is shorter than its tag');
      if (fill === TAG && counter > 0) throw new AgeIntegrityError('malformed age file: an empty final chunk after full ones (only an empty file has one)');
      const plain = openChunk(this.key!, counter, true, this.buf.subarray(0, fill));
      if (!plain) throw new AgeIntegrityError(`chunk ${counter + 1} of the age file does not authenticate as its final chunk: the file was altered or truncated`);
      this.out(plain, emit);
      this.state = 'done';
    }
    return { size: this.size, sha256: this.hash?.digest('hex') ?? '' };
  }

  private takeHeader(data: Buffer, off: number): number {
    const n = Math.min(data.length - off, MAX_HEADER_BYTES - this.headLen);
    let head = this.head!;
    if (this.headLen + n > head.length) {
      head = Buffer.allocUnsafe(Math.min(MAX_HEADER_BYTES, Math.max(2 * head.length, this.headLen + n)));
      this.head!.copy(head, 0, 0, this.headLen);
      this.head = head;
    }
    data.copy(head, this.headLen, off, off + n);
    this.headLen += n;
    const end = this.scanner.scan(head.subarray(0, this.headLen));
    if (end === -1) {
      if (this.headLen >= MAX_HEADER_BYTES) throw new AgeIntegrityError(`malformed age file: no end of the header ("---" line) in its first ${MAX_HEADER_BYTES} bytes`);
      return off + n;
    }
    this.openHeader(head.subarray(0, end));
    this.head = undefined;
    this.state = 'nonce';
    // the bytes taken past the header's end are the payload's: give them back
    return off + n - (this.headLen - end);
  }

  private openHeader(bytes: Buffer): void {
    const header = parseHeader(bytes);
    this.stanzas = header.stanzas.map(({ type, args }) => ({ type, args }));
    const fileKey = unwrapFileKey(header.stanzas, this.identities);
    checkMac(header, fileKey);
    this.fileKey = fileKey;
  }

  private takeNonce(data: Buffer, off: number): number {
    const n = Math.min(data.length - off, NONCE_BYTES - this.nonceLen);
    data.copy(this.nonce, this.nonceLen, off, off + n);
    this.nonceLen += n;
    if (this.nonceLen === NONCE_BYTES) {
      this.key = payloadKey(this.fileKey!, this.nonce);
      this.state = 'payload';
    }
    return off + n;
  }

  // A full-size chunk is the last one when it authenticates only with the flag (a plaintext of whole chunks): try both.
  private openFull(sealed: Buffer, emit: Emit): void {
    let plain = openChunk(this.key!, this.counter, false, sealed);
    if (!plain) {
      plain = openChunk(this.key!, this.counter, true, sealed);
      if (!plain) throw new AgeIntegrityError(`chunk ${this.counter + 1} of the age file does not authenticate: the file was altered or damaged`);
      this.state = 'done';
    }
    this.counter++;
    this.out(plain, emit);
  }

  private out(plain: Buffer, emit: Emit): void {
    this.hash?.update(plain);
    this.size += plain.length;
    if (plain.length > 0) emit(plain);
  }
}

// Encrypts what is written to it to recipients. plain(): the plaintext's size and sha256, once it has finished.
// What one write seals goes out as one buffer (a chunk and its tag apart would be two writes of a file each).
export function encryptStream(recipients: Recipient[]): Transform & { plain(): Sealed } {
  const sealer = new Sealer(recipients);
  let result: Sealed | undefined;
  const pending: Buffer[] = [];
  const collect: Emit = (bytes) => void pending.push(bytes);
  const flushPending = () => {
    if (pending.length) stream.push(pending.length === 1 ? pending[0] : Buffer.concat(pending));
    pending.length = 0;
  };
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      run(done, () => {
        sealer.write(chunk, collect);
        flushPending();
      });
    },
    flush(done) {
      run(done, () => {
        result = sealer.end(collect);
        flushPending();
      });
    },
  });
  return Object.assign(stream, { plain: () => finished(result) });
}

// A synchronous encryptor for a caller that writes the output itself (a file repository's copy): update returns the
// age file's bytes that the plaintext given so far completes, final the rest. The caller hashes the plaintext.
export interface Encoder {
  update(plain: Buffer): Buffer;
  final(): Buffer;
}

export function createEncoder(recipients: Recipient[]): Encoder {
  const sealer = new Sealer(recipients, false);
  const pending: Buffer[] = [];
  const collect: Emit = (bytes) => void pending.push(bytes);
  const take = () => {
    const out = pending.length === 1 ? pending[0] : Buffer.concat(pending);
    pending.length = 0;
    return out;
  };
  return {
    update(plain) {
      sealer.write(plain, collect);
      return take();
    },
    final() {
      sealer.end(collect);
      return take();
    },
  };
}

// Decrypts the age file written to it with identities, emitting plaintext only as each chunk authenticates.
// plain(): the plaintext's size and sha256, once it has ended; stanzas(): the header's stanzas, once it was read.
export function decryptStream(identities: Identity[]): Transform & { plain(): Sealed; stanzas(): StanzaInfo[] } {
  const opener = new Opener(identities);
  let result: Sealed | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      run(done, () => opener.write(chunk, emit));
    },
    flush(done) {
      run(done, () => void (result = opener.end(emit)));
    },
  });
  const emit: Emit = (bytes) => void stream.push(bytes);
  return Object.assign(stream, { plain: () => finished(result), stanzas: () => opener.stanzas });
}

function run(done: (err?: Error | null) => void, work: () => void): void {
  try {
    work();
  } catch (err) {
    done(err as Error);
    return;
  }
  done();
}

function finished(result: Sealed | undefined): Sealed {
  if (!result) throw new AgeError('plain() is known only once the stream has finished');
  return result;
}

// Encrypts a whole buffer (a string as UTF-8) to recipients. The result is allocated once, at its exact size: a
// 16 MB WAL segment pays for the cipher and one copy, not for a list of chunks and their concatenation.
export function encryptBytes(data: Buffer | string, recipients: Recipient[]): Buffer {
  const plain = typeof data === 'string' ? Buffer.from(data) : data;
  const sealer = new Sealer(recipients, false);
  const chunks = Math.max(1, Math.ceil(plain.length / CHUNK));
  let out: Buffer | undefined;
  let at = 0;
  const emit: Emit = (b) => {
    // the first emit is the header and nonce, which gives the size
    out ??= Buffer.allocUnsafe(b.length + plain.length + chunks * TAG);
    at += b.copy(out, at);
  };
  sealer.write(plain, emit);
  sealer.end(emit);
  return out!;
}

// Decrypts a whole age file with identities.
export function decryptBytes(data: Buffer, identities: Identity[]): Buffer {
  const opener = new Opener(identities, false);
  // at most this much plaintext: the payload less one tag a chunk (a bound, as the header's length is not known yet)
  const out = Buffer.allocUnsafe(Math.max(0, data.length - Math.ceil(data.length / SEALED_CHUNK) * TAG));
  let at = 0;
  const emit: Emit = (b) => void (at += b.copy(out, at));
  opener.write(data, emit);
  opener.end(emit);
  // the few bytes of the bound left over are not handed out uninitialised, even behind .buffer
  out.fill(0, at);
  return out.subarray(0, at);
}
