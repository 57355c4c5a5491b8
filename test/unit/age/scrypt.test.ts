import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgeIntegrityError, AgeKeyError } from '../../../lib/age/index.ts';
import { decodeBase64 } from '../../../lib/age/header.ts';
import { unwrapScrypt, wrapScrypt } from '../../../lib/age/scrypt.ts';

// C2SP/CCTV age/testdata/scrypt: the stanza age's testkit made for passphrase "password", work factor 10, over the
// file key "YELLOW SUBMARINE". A known answer for the whole derivation: label, salt, scrypt parameters, AEAD.
const VECTOR = {
  type: 'scrypt',
  args: ['rF0/NwblUHHTpgQgRpe5CQ', '10'],
  body: decodeBase64('gUjEymFKMVXQEKdMMHL24oYexjE3TIC0O0zGSqJ2aUY')!,
};

describe('the scrypt stanza', () => {
  it("unwraps age's known vector", () => {
    expect(unwrapScrypt(VECTOR, 'password', 22)?.toString()).toBe('YELLOW SUBMARINE');
  });

  it('is a mismatch, not an error, for a wrong passphrase', () => {
    expect(unwrapScrypt(VECTOR, 'passw0rd', 22)).toBeUndefined();
  });

  it('round-trips with its own salt each time', () => {
    const fileKey = crypto.randomBytes(16);
    const a = wrapScrypt(fileKey, 'pässphrase', 10);
    expect(a.args[1]).toBe('10');
    expect(decodeBase64(a.args[0])).toHaveLength(16);
    expect(unwrapScrypt(a, 'pässphrase', 22)).toEqual(fileKey);
    expect(wrapScrypt(fileKey, 'pässphrase', 10).args[0]).not.toBe(a.args[0]);
  });

  it('refuses a work factor over the limit without spending scrypt time on it', () => {
    const started = Date.now();
    expect(() => unwrapScrypt({ ...VECTOR, args: [VECTOR.args[0], '23'] }, 'password', 22)).toThrow(/work factor 23 is over the limit 22/);
    expect(() => unwrapScrypt(VECTOR, 'password', 9)).toThrow(/over the limit 9/);
    expect(Date.now() - started).toBeLessThan(200);
    expect(() => wrapScrypt(crypto.randomBytes(16), 'pw', 23)).toThrow(AgeKeyError);
  });

  it('refuses a second spelling of the work factor, and a malformed salt or body', () => {
    for (const wf of ['010', '+10', '0xa', '10 ', '-10', '0', '']) {
      expect(() => unwrapScrypt({ ...VECTOR, args: [VECTOR.args[0], wf] }, 'password', 22), wf).toThrow(AgeIntegrityError);
    }
    expect(() => unwrapScrypt({ ...VECTOR, args: ['rF0/NwblUHHTpgQgRpe5CQAA', '10'] }, 'password', 22)).toThrow(AgeIntegrityError);
    expect(() => unwrapScrypt({ ...VECTOR, args: [VECTOR.args[0]] }, 'password', 22)).toThrow(AgeIntegrityError);
    expect(() => unwrapScrypt({ ...VECTOR, body: VECTOR.body.subarray(1) }, 'password', 22)).toThrow(AgeIntegrityError);
  });
});
