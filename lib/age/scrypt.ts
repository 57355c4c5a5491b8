import crypto from 'node:crypto';
import { AgeIntegrityError, AgeKeyError } from './errors.ts';
import { WRAPPED_KEY_BYTES, decodeBase64, encodeBase64, openFileKey, sealFileKey, type Stanza } from './header.ts';

// The scrypt (passphrase) stanza:
//
//   -> scrypt <base64 16-byte salt> <log2 N>
//   <base64 ChaCha20-Poly1305(scrypt(passphrase, label || salt, N, r=8, p=1), file key)>
//
// The spec makes it the only stanza of its header (enforced in keys.ts, on both sides): a file that other recipients
// can also open could be re-made by them, and a passphrase file is expected to prove it came from the passphrase.

export const SCRYPT_TYPE = 'scrypt';
const LABEL = Buffer.from('age-encryption.org/v1/scrypt');
const SALT_BYTES = 16;
/** the highest work factor decryption accepts, as age's: 2^22 takes seconds and 4 GiB */
export const MAX_WORK_FACTOR = 22;

// scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) stops at 2^14.
function deriveKey(passphrase: string, salt: Buffer, logN: number): Buffer {
  const N = 2 ** logN;
  return crypto.scryptSync(passphrase, Buffer.concat([LABEL, salt]), 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 });
}

// Throws AgeKeyError unless workFactor is an integer from 1 to MAX_WORK_FACTOR (above it, nobody could decrypt).
export function checkWorkFactor(workFactor: number): void {
  if (!Number.isInteger(workFactor) || workFactor < 1 || workFactor > MAX_WORK_FACTOR) {
    throw new AgeKeyError(`scrypt work factor must be an integer from 1 to ${MAX_WORK_FACTOR}, not ${workFactor}`, {
      hint: 'the work factor is log2 of scrypt\'s N: 16 takes about 0.1 s, each step doubles it',
    });
  }
}

// The stanza that gives fileKey to whoever knows passphrase. Blocks for scrypt's time (about 0.1 s at 16).
export function wrapScrypt(fileKey: Buffer, passphrase: string, workFactor: number): Stanza {
  checkWorkFactor(workFactor);
  const salt = crypto.randomBytes(SALT_BYTES);
  return { type: SCRYPT_TYPE, args: [encodeBase64(salt), String(workFactor)], body: sealFileKey(deriveKey(passphrase, salt, workFactor), fileKey) };
}

// The file key in an scrypt stanza, or undefined for a wrong passphrase. A malformed stanza, or one whose work factor
// is over maxWorkFactor, is an AgeIntegrityError (age: a header failure) and costs no scrypt time.
export function unwrapScrypt(stanza: Stanza, passphrase: string, maxWorkFactor: number): Buffer | undefined {
  if (stanza.type !== SCRYPT_TYPE) return undefined;
  const [saltText, logNText, ...rest] = stanza.args;
  const salt = saltText === undefined ? undefined : decodeBase64(saltText);
  if (!salt || salt.length !== SALT_BYTES || logNText === undefined || rest.length > 0) {
    throw new AgeIntegrityError('malformed scrypt stanza: expected two arguments, the base64 of a 16-byte salt and the work factor');
  }
  // decimal without sign or leading zero, as age: anything else is a second spelling of the same header
  if (!/^[1-9][0-9]{0,1}$/.test(logNText)) throw new AgeIntegrityError('malformed scrypt stanza: the work factor is not a decimal from 1 to 99');
  const logN = Number(logNText);
  const cap = Math.min(maxWorkFactor, MAX_WORK_FACTOR);
  if (logN > cap) {
    throw new AgeIntegrityError(`the file's scrypt work factor ${logN} is over the limit ${cap}`, {
      hint: 'it would take too long and too much memory; age refuses it too. A file pgops wrote never has one over 22',
    });
  }
  if (stanza.body.length !== WRAPPED_KEY_BYTES) throw new AgeIntegrityError('malformed scrypt stanza: its body is not a wrapped 16-byte file key');
  return openFileKey(deriveKey(passphrase, salt, logN), stanza.body);
}
