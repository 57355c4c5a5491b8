import { describe, expect, it } from 'vitest';
import { bech32Decode, bech32Encode } from '../../../lib/age/bech32.ts';

// The key of age's own testdata/example_keys.txt, and what age-keygen -y prints for it.
const AGE_IDENTITY = 'AGE-SECRET-KEY-184JMZMVQH3E6U0PSL869004Y3U2NYV7R30EU99CSEDNPH02YUVFSZW44VU';
const AGE_RECIPIENT = 'age1cy0su9fwf3gf9mw868g5yut09p6nytfmmnktexz2ya5uqg9vl9sss4euqm';
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

describe('bech32', () => {
  it('accepts the BIP 173 valid checksums', () => {
    for (const valid of [
      'A12UEL5L',
      'a12uel5l',
      'an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs',
      'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw',
      '11' + 'q'.repeat(82) + 'c8247j',
      'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w',
      '?1ezyfcl',
    ]) {
      const { hrp, data } = bech32Decode(valid);
      expect(hrp).toBe(valid.slice(0, valid.lastIndexOf('1')));
      expect(bech32Encode(hrp, data)).toBe(valid.toLowerCase());
    }
  });

  it('refuses the BIP 173 invalid strings', () => {
    for (const invalid of ['pzry9x0s0muk', '1pzry9x0s0muk', 'x1b4n0q5v', 'li1dgmt3', 'de1lg7wt\xff', 'A1G7SGD8', '10a06t8', '1qzzfhee', ' 1nwldj5', 'A12uEL5L']) {
      expect(() => bech32Decode(invalid), invalid).toThrow();
    }
  });

  it('decodes a recipient age-keygen printed to 32 bytes, and encodes them back to it', () => {
    const { hrp, data } = bech32Decode(AGE_RECIPIENT);
    expect(hrp).toBe('age');
    expect(data.length).toBe(32);
    expect(bech32Encode('age', data)).toBe(AGE_RECIPIENT);
  });

  it('has no 90-character limit: an AGE-SECRET-KEY-1 is upper case and decodes as written', () => {
    const { hrp, data } = bech32Decode(AGE_IDENTITY);
    expect(hrp).toBe('AGE-SECRET-KEY-');
    expect(bech32Encode(hrp, data).toUpperCase()).toBe(AGE_IDENTITY);
    expect(bech32Decode('x1' + 'q'.repeat(200) + bech32Encode('x', Buffer.alloc(125)).slice(-6)).data.length).toBe(125);
  });

  it('fails the checksum when any one character of the data changes', () => {
    for (let i = 4; i < AGE_RECIPIENT.length; i++) {
      const other = CHARSET[(CHARSET.indexOf(AGE_RECIPIENT[i]) + 1 + (i % 31)) % 32];
      const changed = AGE_RECIPIENT.slice(0, i) + other + AGE_RECIPIENT.slice(i + 1);
      expect(() => bech32Decode(changed), `position ${i}`).toThrow(/invalid checksum/);
    }
  });

  it('refuses mixed case and non-zero padding', () => {
    expect(() => bech32Decode(AGE_RECIPIENT.slice(0, 10) + AGE_RECIPIENT.slice(10).toUpperCase())).toThrow(/mixed case/);
    // one byte is two 5-bit groups with 2 bits of padding: "lu" is 0xff with zero padding, "ll" the same with it set
    expect(bech32Decode(withChecksum('t', 'lu')).data).toEqual(Buffer.from([0xff]));
    expect(() => bech32Decode(withChecksum('t', 'll'))).toThrow(/non-zero padding/);
  });

  it('never puts the input in its error (it may be a secret key)', () => {
    const broken = AGE_IDENTITY.slice(0, -1) + (AGE_IDENTITY.endsWith('Q') ? 'P' : 'Q');
    expect(() => bech32Decode(broken)).toThrow(expect.objectContaining({ message: expect.not.stringContaining(broken.slice(16, 40)) }));
  });
});

// A bech32 string of data characters as given, with a correct checksum (BIP 173's reference algorithm, written
// again here so that the test does not trust the code it tests): bech32Encode only takes whole bytes.
function withChecksum(hrp: string, dataChars: string): string {
  return hrp + '1' + dataChars + checksumOf(hrp, dataChars);
}

function checksumOf(hrp: string, dataChars: string): string {
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  const values = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31), ...[...dataChars].map((c) => CHARSET.indexOf(c)), 0, 0, 0, 0, 0, 0];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk = (chk ^ GEN[i]) >>> 0;
  }
  chk ^= 1;
  return Array.from({ length: 6 }, (_, p) => CHARSET[(chk >>> (5 * (5 - p))) & 31]).join('');
}
