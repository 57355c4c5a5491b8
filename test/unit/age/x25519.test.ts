import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgeIntegrityError, AgeKeyError } from '../../../lib/age/index.ts';
import { unwrapX25519, wrapX25519, x25519Generate, x25519PublicKey } from '../../../lib/age/x25519.ts';

// RFC 7748, section 6.1
const ALICE_SECRET = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
const ALICE_PUBLIC = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');

describe('the X25519 stanza', () => {
  it('derives public keys as RFC 7748 does', () => {
    expect(x25519PublicKey(ALICE_SECRET)).toEqual(ALICE_PUBLIC);
    const pair = x25519Generate();
    expect(x25519PublicKey(pair.secretKey)).toEqual(pair.publicKey);
  });

  it('wraps a file key that only the recipient unwraps', () => {
    const fileKey = crypto.randomBytes(16);
    const stanza = wrapX25519(fileKey, ALICE_PUBLIC);
    expect(stanza.type).toBe('X25519');
    expect(stanza.args).toHaveLength(1);
    expect(stanza.body).toHaveLength(32);
    expect(unwrapX25519(stanza, ALICE_SECRET, ALICE_PUBLIC)).toEqual(fileKey);
    const other = x25519Generate();
    expect(unwrapX25519(stanza, other.secretKey, other.publicKey)).toBeUndefined();
    // a fresh ephemeral share each time
    expect(wrapX25519(fileKey, ALICE_PUBLIC).args[0]).not.toBe(stanza.args[0]);
  });

  it('refuses a malformed stanza rather than calling it a mismatch', () => {
    const stanza = wrapX25519(crypto.randomBytes(16), ALICE_PUBLIC);
    const zeroShare = Buffer.alloc(32).toString('base64').replace(/=+$/, '');
    expect(() => unwrapX25519({ ...stanza, args: [zeroShare] }, ALICE_SECRET, ALICE_PUBLIC)).toThrow(/low-order/);
    expect(() => unwrapX25519({ ...stanza, args: [stanza.args[0], 'x'] }, ALICE_SECRET, ALICE_PUBLIC)).toThrow(AgeIntegrityError);
    expect(() => unwrapX25519({ ...stanza, body: Buffer.concat([stanza.body, Buffer.alloc(1)]) }, ALICE_SECRET, ALICE_PUBLIC)).toThrow(AgeIntegrityError);
    expect(unwrapX25519({ ...stanza, type: 'x25519' }, ALICE_SECRET, ALICE_PUBLIC)).toBeUndefined();
  });

  it('refuses to encrypt to a low-order point', () => {
    expect(() => wrapX25519(crypto.randomBytes(16), Buffer.alloc(32))).toThrow(AgeKeyError);
  });
});
