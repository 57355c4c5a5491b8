import crypto from 'node:crypto';
import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  AgeError,
  AgeFormatError,
  AgeIntegrityError,
  AgeKeyError,
  AgeNoIdentityError,
  type Identity,
  type Recipient,
  decryptBytes,
  decryptStream,
  encryptBytes,
  encryptStream,
  generateIdentity,
  headerInfo,
  parseIdentities,
  parseRecipient,
  passphraseIdentity,
  passphraseRecipient,
} from '../../../lib/age/index.ts';
import { serializeHeader } from '../../../lib/age/header.ts';
import { wrapScrypt } from '../../../lib/age/scrypt.ts';
import { wrapX25519 } from '../../../lib/age/x25519.ts';

const CHUNK = 64 * 1024;
const keyA = generateIdentity();
const keyB = generateIdentity();
const A: Identity[] = parseIdentities(keyA.identity);
const B: Identity[] = parseIdentities(keyB.identity);
const toA: Recipient[] = [parseRecipient(keyA.recipient)];
const toAB: Recipient[] = [parseRecipient(keyA.recipient), parseRecipient(keyB.recipient)];
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

function randomPieces(buf: Buffer, max = 100_000): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const n = 1 + crypto.randomInt(max);
    pieces.push(buf.subarray(at, at + n));
    at += n;
  }
  return pieces;
}

const bytePieces = (buf: Buffer) => Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));

// Runs pieces through a stream; what came out before an error is kept (to check nothing unauthenticated did).
async function run(stream: Transform, pieces: Buffer[]): Promise<{ out: Buffer; err?: unknown }> {
  const out: Buffer[] = [];
  const sink = new Writable({ write(c, _e, cb) { out.push(c); cb(); } });
  try {
    await pipeline(Readable.from(pieces), stream, sink);
    return { out: Buffer.concat(out) };
  } catch (err) {
    return { out: Buffer.concat(out), err };
  }
}

async function encrypt(plain: Buffer, recipients = toA, pieces = randomPieces(plain)): Promise<Buffer> {
  const { out, err } = await run(encryptStream(recipients), pieces);
  if (err) throw err;
  return out;
}

const decrypt = (file: Buffer, identities = A, pieces = randomPieces(file)) => run(decryptStream(identities), pieces);

describe('encryptStream and decryptStream', () => {
  for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 300_000]) {
    it(`round-trip ${size} bytes written and read in random pieces, with sizes and sha256s`, async () => {
      const plain = crypto.randomBytes(size);
      const enc = encryptStream(toA);
      const { out: file } = await run(enc, randomPieces(plain));
      expect(enc.plain()).toEqual({ size, sha256: sha256(plain) });
      // one chunk per 64 KiB, at least one: a whole last chunk is marked last, with no empty chunk after it
      const chunks = Math.max(1, Math.ceil(size / CHUNK));
      expect(file.length).toBe(headerInfo(file).headerLength + 16 + size + 16 * chunks);
      const dec = decryptStream(A);
      const { out, err } = await run(dec, randomPieces(file));
      expect(err).toBeUndefined();
      expect(out.equals(plain)).toBe(true);
      expect(dec.plain()).toEqual({ size, sha256: sha256(plain) });
      expect(dec.stanzas().map((s) => s.type)).toEqual(['X25519']);
    });
  }

  for (const size of [0, 1, CHUNK, 2 * CHUNK]) {
    it(`decrypts a ${size}-byte file written one byte at a time`, async () => {
      const plain = crypto.randomBytes(size);
      const file = await encrypt(plain, toA, bytePieces(plain));
      const { out, err } = await decrypt(file, A, bytePieces(file));
      expect(err).toBeUndefined();
      expect(out.equals(plain)).toBe(true);
    });
  }

  it('seals and opens writes of many chunks at once as well as split ones', async () => {
    const plain = crypto.randomBytes(5 * CHUNK + 7);
    const file = await encrypt(plain, toA, [plain]);
    expect((await decrypt(file, A, [file])).out.equals(plain)).toBe(true);
    expect(decryptBytes(file, A).equals(plain)).toBe(true);
    const fromBytes = encryptBytes(plain, toA);
    expect((await decrypt(fromBytes)).out.equals(plain)).toBe(true);
    expect(decryptBytes(encryptBytes('hé', toA), A).toString()).toBe('hé');
  });

  it('knows plain() only once the stream has finished', () => {
    expect(() => encryptStream(toA).plain()).toThrow(AgeError);
    expect(() => decryptStream(A).plain()).toThrow(AgeError);
  });

  it('respects backpressure: while its output is unread it seals no further input', () => {
    const enc = encryptStream(toA);
    for (let i = 0; i < 20; i++) enc.write(crypto.randomBytes(CHUNK));
    // the first piece is held (it may be the last chunk), the second seals it, then the Transform waits for a reader
    expect(enc.readableLength).toBeLessThan(3 * CHUNK);
    expect(enc.writableLength).toBeGreaterThan(15 * CHUNK);
    enc.destroy();
  });

  it('opens a file encrypted to two recipients with either identity, and with neither is AgeNoIdentityError', async () => {
    const plain = crypto.randomBytes(1000);
    const file = await encrypt(plain, toAB);
    expect((await decrypt(file, A)).out.equals(plain)).toBe(true);
    expect((await decrypt(file, B)).out.equals(plain)).toBe(true);
    const { err, out } = await decrypt(file, parseIdentities(generateIdentity().identity));
    expect(err).toBeInstanceOf(AgeNoIdentityError);
    expect((err as AgeNoIdentityError).stanzaTypes).toEqual(['X25519', 'X25519']);
    expect((err as Error).message).toBe('no identity given opens this file (its stanzas: X25519 x2)');
    expect(out.length).toBe(0);
  });

  it('refuses to start without recipients or with a passphrase beside others', () => {
    expect(() => encryptStream([])).toThrow(AgeKeyError);
    expect(() => encryptStream([passphraseRecipient('pw', 10), ...toA])).toThrow(/passphrase must be the only recipient/);
  });
});

describe('passphrase files', () => {
  it('round-trip, and a wrong passphrase is AgeNoIdentityError', async () => {
    const plain = crypto.randomBytes(CHUNK + 5);
    const file = await encrypt(plain, [passphraseRecipient('correct horse', 10)]);
    expect(headerInfo(file).stanzas).toEqual([{ type: 'scrypt', args: [expect.any(String), '10'] }]);
    expect((await decrypt(file, [passphraseIdentity('correct horse')])).out.equals(plain)).toBe(true);
    const wrong = await decrypt(file, [passphraseIdentity('battery staple')]);
    expect(wrong.err).toBeInstanceOf(AgeNoIdentityError);
    expect((wrong.err as Error).message).toMatch(/passphrase does not open this file/);
    // an X25519 identity against a passphrase file: no match either
    expect((await decrypt(file, A)).err).toBeInstanceOf(AgeNoIdentityError);
  });

  it('refuses a header with an scrypt stanza beside an X25519 one, whichever identity is given', () => {
    const fileKey = crypto.randomBytes(16);
    const a = toA[0];
    if (a.kind !== 'x25519') throw new Error('unreachable');
    const header = serializeHeader([wrapScrypt(fileKey, 'pw', 10), wrapX25519(fileKey, a.publicKey)], fileKey);
    const file = Buffer.concat([header, crypto.randomBytes(48)]);
    expect(() => decryptBytes(file, [passphraseIdentity('pw')])).toThrow(AgeIntegrityError);
    expect(() => decryptBytes(file, A)).toThrow(/scrypt stanza beside other stanzas/);
  });
});

describe('a damaged or altered file', () => {
  // three chunks: two full, one of 1000 bytes, encrypted to A and B
  const plain = crypto.randomBytes(2 * CHUNK + 1000);
  const file = encryptBytes(plain, toAB);
  const headerLength = headerInfo(file).headerLength;
  const payload = headerLength + 16;
  const sealedChunk = CHUNK + 16;

  function flip(buf: Buffer, at: number): Buffer {
    const copy = Buffer.from(buf);
    copy[at] ^= 0x01;
    return copy;
  }

  // the index in file of character i of the body line of stanza n (0-based)
  function bodyChar(n: number, i: number): number {
    let at = 0;
    for (let k = 0; k <= n; k++) at = file.indexOf('\n-> ', at + 1);
    return file.indexOf('\n', at + 1) + 1 + i;
  }

  async function expectRefused(damaged: Buffer, errorClass: new (...args: never[]) => Error, emitted = 0, identities = A) {
    for (const pieces of [[damaged], randomPieces(damaged, 5000)]) {
      const { out, err } = await decrypt(damaged, identities, pieces);
      expect(err).toBeInstanceOf(errorClass);
      // what came out before the error is the authenticated chunks, and nothing of the failing one
      expect(out.equals(plain.subarray(0, emitted))).toBe(true);
    }
    expect(() => decryptBytes(damaged, identities)).toThrow(errorClass);
  }

  it('decrypts as it is (the cases below are all it takes to break it)', async () => {
    expect((await decrypt(file)).out.equals(plain)).toBe(true);
  });

  it("a byte changed in another recipient's stanza: the header MAC fails", async () => {
    const bBroken = flipBase64(file, bodyChar(1, 10));
    await expectRefused(bBroken, AgeIntegrityError, 0, A);
    await expectRefused(flipBase64(file, bodyChar(0, 10)), AgeIntegrityError, 0, B);
    // in one's own stanza it no longer unwraps: as age, that is no match
    await expectRefused(bBroken, AgeNoIdentityError, 0, B);
  });

  it('a byte changed in the MAC', async () => {
    const macAt = file.lastIndexOf('\n--- ', headerLength) + 5;
    await expectRefused(flipBase64(file, macAt + 3), AgeIntegrityError);
  });

  it('a byte changed in the version line is not an age file', async () => {
    await expectRefused(flip(file, 3), AgeFormatError);
  });

  it('a byte changed in the payload nonce', async () => {
    await expectRefused(flip(file, headerLength + 5), AgeIntegrityError);
  });

  it('a byte changed in a middle chunk: the chunk before it comes out, nothing of it', async () => {
    await expectRefused(flip(file, payload + sealedChunk + 100), AgeIntegrityError, CHUNK);
  });

  it("a byte changed in the last chunk's tag", async () => {
    await expectRefused(flip(file, file.length - 1), AgeIntegrityError, 2 * CHUNK);
  });

  it('cut at a chunk boundary: the last-chunk flag is missing', async () => {
    const cut = file.subarray(0, payload + 2 * sealedChunk);
    await expectRefused(cut, AgeIntegrityError, 2 * CHUNK);
    await expect(decrypt(cut)).resolves.toMatchObject({ err: expect.objectContaining({ message: expect.stringMatching(/not marked final/) }) });
    // a file of whole chunks cut after its first
    const whole = encryptBytes(plain.subarray(0, 2 * CHUNK), toA);
    const wholeCut = whole.subarray(0, headerInfo(whole).headerLength + 16 + sealedChunk);
    expect(() => decryptBytes(wholeCut, A)).toThrow(/not marked final/);
    expect(() => decryptBytes(whole.subarray(0, headerInfo(whole).headerLength + 16), A)).toThrow(/no chunk after the payload nonce/);
  });

  it('cut inside a chunk, the nonce or the header', async () => {
    await expectRefused(file.subarray(0, file.length - 500), AgeIntegrityError, 2 * CHUNK);
    await expectRefused(file.subarray(0, payload + CHUNK), AgeIntegrityError);
    await expectRefused(file.subarray(0, headerLength + 8), AgeIntegrityError);
    await expectRefused(file.subarray(0, headerLength - 10), AgeIntegrityError);
  });

  it('a byte appended, after a short last chunk or after a whole one', async () => {
    await expectRefused(Buffer.concat([file, Buffer.from([0])]), AgeIntegrityError, 2 * CHUNK);
    const whole = encryptBytes(plain.subarray(0, 2 * CHUNK), toA);
    expect(() => decryptBytes(Buffer.concat([whole, Buffer.from([0])]), A)).toThrow(/trailing data after the final chunk/);
  });

  it('empty, or something else entirely, is AgeFormatError at the first bytes', async () => {
    await expectRefused(Buffer.alloc(0), AgeFormatError);
    const stream = decryptStream(A);
    const failed = new Promise((resolve) => stream.on('error', resolve));
    stream.write(Buffer.from('PGDMP\x01\x0e\x00'));
    expect(await failed).toBeInstanceOf(AgeFormatError);
  });
});

// Changes the base64 character at `at` to another one, so that the header stays canonical base64 and only the
// MAC (or the AEAD) can tell.
function flipBase64(buf: Buffer, at: number): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const copy = Buffer.from(buf);
  copy[at] = alphabet.charCodeAt((alphabet.indexOf(String.fromCharCode(copy[at])) + 1) % 64);
  return copy;
}
