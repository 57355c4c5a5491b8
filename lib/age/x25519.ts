import crypto from 'node:crypto';
import { AgeIntegrityError, AgeKeyError } from './errors.ts';
import { WRAPPED_KEY_BYTES, decodeBase64, encodeBase64, openFileKey, sealFileKey, type Stanza } from './header.ts';

// The X25519 recipient stanza:
//
//   -> X25519 <base64 ephemeral share>
//   <base64 ChaCha20-Poly1305(HKDF(shared secret, share || recipient, label), file key)>
//
// Node's crypto takes X25519 keys as KeyObjects only: raw 32-byte keys go in behind their fixed DER prefixes
// (RFC 8410), and OpenSSL clamps the scalar itself as age's Go code does.

export const X25519_TYPE = 'X25519';
const LABEL = 'age-encryption.org/v1/X25519';
const KEY_BYTES = 32;
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

function privateKeyObject(secretKey: Buffer): crypto.KeyObject {
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(publicKey: Buffer): crypto.KeyObject {
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

function rawPublicKey(key: crypto.KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

// The public key (the recipient's 32 bytes) of a 32-byte secret key.
export function x25519PublicKey(secretKey: Buffer): Buffer {
  return rawPublicKey(crypto.createPublicKey(privateKeyObject(secretKey)));
}

// A fresh key pair, both halves raw.
export function x25519Generate(): { secretKey: Buffer; publicKey: Buffer } {
  const pair = crypto.generateKeyPairSync('x25519');
  const secretKey = pair.privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  return { secretKey, publicKey: rawPublicKey(pair.publicKey) };
}

// undefined when the result is all zeros (a low-order point), which age refuses: such a secret is known to anyone.
function sharedSecret(privateKey: crypto.KeyObject, publicKey: Buffer): Buffer | undefined {
  let shared: Buffer;
  try {
    // OpenSSL itself refuses an all-zero result
    shared = crypto.diffieHellman({ privateKey, publicKey: publicKeyObject(publicKey) });
  } catch {
    return undefined;
  }
  return shared.every((b) => b === 0) ? undefined : shared;
}

function wrapKey(shared: Buffer, share: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', shared, Buffer.concat([share, recipient]), LABEL, 32));
}

// The stanza that gives fileKey to the holder of recipient's secret key.
export function wrapX25519(fileKey: Buffer, recipient: Buffer): Stanza {
  const ephemeral = crypto.generateKeyPairSync('x25519');
  const share = rawPublicKey(ephemeral.publicKey);
  const shared = sharedSecret(ephemeral.privateKey, recipient);
  if (!shared) {
    throw new AgeKeyError('the recipient is not a usable X25519 public key (a low-order point)', {
      hint: 'use a recipient age-keygen printed (age1...)',
    });
  }
  return { type: X25519_TYPE, args: [encodeBase64(share)], body: sealFileKey(wrapKey(shared, share, recipient), fileKey) };
}

// The file key in an X25519 stanza, or undefined when the stanza is for another key. A malformed stanza (wrong
// argument count, a share that is not 32 bytes of canonical base64, a body that is not 32 bytes, a low-order share)
// is an AgeIntegrityError, as age makes it a header failure rather than a mismatch.
export function unwrapX25519(stanza: Stanza, secretKey: Buffer, publicKey: Buffer): Buffer | undefined {
  if (stanza.type !== X25519_TYPE) return undefined;
  const share = stanza.args.length === 1 ? decodeBase64(stanza.args[0]) : undefined;
  if (!share || share.length !== KEY_BYTES) {
    throw new AgeIntegrityError('malformed X25519 stanza: expected one argument, the base64 of a 32-byte share');
  }
  if (stanza.body.length !== WRAPPED_KEY_BYTES) throw new AgeIntegrityError('malformed X25519 stanza: its body is not a wrapped 16-byte file key');
  const shared = sharedSecret(privateKeyObject(secretKey), share);
  if (!shared) throw new AgeIntegrityError('malformed X25519 stanza: its share is a low-order point');
  return openFileKey(wrapKey(shared, share, publicKey), stanza.body);
}
