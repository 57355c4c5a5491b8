import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AgeFormatError,
  AgeIntegrityError,
  AgeKeyError,
  AgeNoIdentityError,
  MAX_HEADER_BYTES,
  decryptBytes,
  encryptBytes,
  generateIdentity,
  headerInfo,
  parseIdentities,
  parseRecipient,
  passphraseIdentity,
  passphraseRecipient,
  rewrapHeader,
} from '../../../lib/age/index.ts';

const a = generateIdentity();
const b = generateIdentity();
const c = generateIdentity();
const A = parseIdentities(a.identity);
const B = parseIdentities(b.identity);
const C = parseIdentities(c.identity);

// The new file, as a caller builds it from the object's first bytes and the rest of it.
function rekeyed(file: Buffer, identities = A, recipients = [parseRecipient(b.recipient)]): Buffer {
  const { header, oldHeaderLength } = rewrapHeader(file.subarray(0, MAX_HEADER_BYTES), identities, recipients);
  return Buffer.concat([header, file.subarray(oldHeaderLength)]);
}

describe('rewrapHeader', () => {
  const plain = crypto.randomBytes(200_000);
  const file = encryptBytes(plain, [parseRecipient(a.recipient)]);

  it('makes a file the new recipients open and the removed one does not, payload byte for byte', () => {
    const after = rekeyed(file, A, [parseRecipient(b.recipient), parseRecipient(c.recipient)]);
    expect(decryptBytes(after, B).equals(plain)).toBe(true);
    expect(decryptBytes(after, C).equals(plain)).toBe(true);
    expect(() => decryptBytes(after, A)).toThrow(AgeNoIdentityError);
    const oldLength = headerInfo(file).headerLength;
    const newLength = headerInfo(after).headerLength;
    expect(after.subarray(newLength).equals(file.subarray(oldLength))).toBe(true);
    expect(headerInfo(after).stanzas).toHaveLength(2);
  });

  it('moves a file between a passphrase and recipients', () => {
    const toPassphrase = rekeyed(file, A, [passphraseRecipient('pw', 10)]);
    expect(decryptBytes(toPassphrase, [passphraseIdentity('pw')]).equals(plain)).toBe(true);
    const back = rekeyed(toPassphrase, [passphraseIdentity('pw')], [parseRecipient(c.recipient)]);
    expect(decryptBytes(back, C).equals(plain)).toBe(true);
  });

  it('refuses without an identity that opens the header', () => {
    expect(() => rekeyed(file, B)).toThrow(AgeNoIdentityError);
  });

  it('refuses a header whose MAC fails, rather than re-MAC an altered header', () => {
    const twoRecipients = encryptBytes(plain, [parseRecipient(a.recipient), parseRecipient(b.recipient)]);
    const text = twoRecipients.toString('latin1');
    // a character in the middle of B's stanza body (stanza 2): A still unwraps, only the MAC notices
    const bodyAt = text.indexOf('\n', text.indexOf('\n-> X25519 ', text.indexOf('\n-> X25519 ') + 1) + 1) + 1 + 10;
    const altered = Buffer.from(twoRecipients);
    altered[bodyAt] = altered[bodyAt] === 0x41 ? 0x42 : 0x41;
    expect(() => rekeyed(altered, A)).toThrow(AgeIntegrityError);
  });

  it('refuses recipients a file cannot have, and a head without the whole header', () => {
    expect(() => rekeyed(file, A, [])).toThrow(AgeKeyError);
    expect(() => rekeyed(file, A, [passphraseRecipient('pw', 10), parseRecipient(b.recipient)])).toThrow(AgeKeyError);
    expect(() => rewrapHeader(file.subarray(0, 50), A, [parseRecipient(b.recipient)])).toThrow(AgeFormatError);
  });
});
