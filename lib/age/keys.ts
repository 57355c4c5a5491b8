import { bech32Decode, bech32Encode } from './bech32.ts';
import { AgeIntegrityError, AgeKeyError, AgeNoIdentityError } from './errors.ts';
import type { Stanza } from './header.ts';
import { MAX_WORK_FACTOR, SCRYPT_TYPE, checkWorkFactor, unwrapScrypt, wrapScrypt } from './scrypt.ts';
import { unwrapX25519, wrapX25519, x25519Generate, x25519PublicKey } from './x25519.ts';

// Recipients (who a file is encrypted to) and identities (what opens it): age's X25519 keys, age1... and
// AGE-SECRET-KEY-1... in bech32, and a passphrase (age's scrypt recipient). Also the two steps every file takes
// through them: wrapping its file key for the recipients, unwrapping it with the identities.

export type Recipient = { kind: 'x25519'; publicKey: Buffer; text: string } | { kind: 'scrypt'; passphrase: string; workFactor: number };
export type Identity = { kind: 'x25519'; secretKey: Buffer; recipient: string } | { kind: 'scrypt'; passphrase: string; maxWorkFactor?: number };

const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'AGE-SECRET-KEY-';
const KEY_BYTES = 32;
const DEFAULT_WORK_FACTOR = 16;

// An age X25519 recipient (age1...). Anything else is an AgeKeyError saying what was expected.
export function parseRecipient(text: string): Recipient {
  const t = text.trim();
  if (t.toUpperCase().startsWith(IDENTITY_HRP)) {
    // the message must not echo it: it is a secret
    throw new AgeKeyError('expected an age recipient (age1...), got a secret key (AGE-SECRET-KEY-1...)', {
      hint: 'give the public key: age-keygen -y IDENTITY_FILE prints it; and keep the secret key off this host if it is a writer',
    });
  }
  if (!t.startsWith(RECIPIENT_HRP + '1')) {
    throw new AgeKeyError('expected an age X25519 recipient (age1..., as age-keygen prints it): the value does not start with age1', {
      hint: t.startsWith('ssh-') ? 'ssh keys are not supported as recipients: make an age key with age-keygen' : 'age-keygen -y IDENTITY_FILE prints the recipient of an identity',
    });
  }
  let decoded: { hrp: string; data: Buffer };
  try {
    decoded = bech32Decode(t);
  } catch (err) {
    throw new AgeKeyError(`malformed age recipient "${t}": ${(err as Error).message}`, { hint: 'copy the recipient again from age-keygen\'s output: one changed character breaks its checksum' });
  }
  if (decoded.hrp !== RECIPIENT_HRP || decoded.data.length !== KEY_BYTES) {
    throw new AgeKeyError(`unsupported age recipient "${t}": expected an X25519 recipient (age1 and 58 characters)`, {
      hint: 'plugin and post-quantum recipients are not supported: use an age-keygen key',
    });
  }
  return { kind: 'x25519', publicKey: decoded.data, text: t };
}

// The identities of an identity file as age-keygen writes it: # comments and blank lines ignored, every other line an
// AGE-SECRET-KEY-1. A bad line is reported by number, never by content (it may be a secret).
export function parseIdentities(fileText: string): Identity[] {
  const identities: Identity[] = [];
  fileText.replace(/^\uFEFF/, '').split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    identities.push(parseIdentityLine(line, index + 1));
  });
  if (identities.length === 0) {
    throw new AgeKeyError('the identity file holds no identity (no AGE-SECRET-KEY-1... line)', { hint: 'give the file age-keygen -o wrote' });
  }
  return identities;
}

function parseIdentityLine(line: string, n: number): Identity {
  const where = `identity file, line ${n}`;
  if (!line.startsWith(IDENTITY_HRP + '1')) {
    throw new AgeKeyError(`${where}: expected an age secret key (AGE-SECRET-KEY-1...) or a # comment`, { hint: identityLineHint(line) });
  }
  let decoded: { hrp: string; data: Buffer };
  try {
    decoded = bech32Decode(line);
  } catch (err) {
    throw new AgeKeyError(`${where}: malformed age secret key: ${(err as Error).message}`, { hint: 'the line was changed or cut: use the file as age-keygen wrote it' });
  }
  if (decoded.hrp !== IDENTITY_HRP || decoded.data.length !== KEY_BYTES) {
    throw new AgeKeyError(`${where}: not an X25519 secret key`, { hint: 'plugin and post-quantum identities are not supported: use an age-keygen key' });
  }
  const identity = { kind: 'x25519' as const, secretKey: decoded.data, recipient: '' };
  identity.recipient = recipientOf(identity);
  return identity;
}

function identityLineHint(line: string): string {
  if (line.startsWith('age-encryption.org/')) return 'the identity file is itself encrypted (age -p): decrypt it first';
  if (line.startsWith('age1')) return 'that is a recipient (public key): give the identity file, the one age-keygen -o wrote';
  if (line.startsWith('-----BEGIN') || line.startsWith('ssh-')) return 'ssh keys are not supported: make an age key with age-keygen';
  return 'give the file age-keygen -o wrote';
}

// A new X25519 key pair: the secret key as it goes in an identity file, and its recipient.
export function generateIdentity(): { identity: string; recipient: string } {
  const { secretKey, publicKey } = x25519Generate();
  return { identity: bech32Encode(IDENTITY_HRP, secretKey).toUpperCase(), recipient: bech32Encode(RECIPIENT_HRP, publicKey) };
}

// The recipient (age1...) of an X25519 identity, derived from its secret key.
export function recipientOf(identity: Identity & { kind: 'x25519' }): string {
  return bech32Encode(RECIPIENT_HRP, x25519PublicKey(identity.secretKey));
}

// A passphrase recipient (age's scrypt): workFactor is log2 of scrypt's N.
export function passphraseRecipient(passphrase: string, workFactor = DEFAULT_WORK_FACTOR): Recipient {
  checkPassphrase(passphrase);
  checkWorkFactor(workFactor);
  return { kind: 'scrypt', passphrase, workFactor };
}

// The identity that opens a file encrypted to passphrase.
export function passphraseIdentity(passphrase: string): Identity {
  checkPassphrase(passphrase);
  return { kind: 'scrypt', passphrase };
}

function checkPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new AgeKeyError('the passphrase is empty', { hint: 'age refuses an empty passphrase' });
}

// One stanza per recipient. A passphrase must be alone, as the spec says (scrypt.ts says why).
export function wrapFileKey(fileKey: Buffer, recipients: Recipient[]): Stanza[] {
  if (recipients.length === 0) throw new AgeKeyError('no recipient to encrypt to', { hint: 'give at least one age1... recipient, or a passphrase' });
  if (recipients.length > 1 && recipients.some((r) => r.kind === 'scrypt')) {
    throw new AgeKeyError('a passphrase must be the only recipient of a file', { hint: 'encrypt either to X25519 recipients (age1...) or to one passphrase, not both' });
  }
  return recipients.map((r) => {
    if (r.kind === 'scrypt') return wrapScrypt(fileKey, r.passphrase, r.workFactor);
    if (r.kind !== 'x25519' || r.publicKey?.length !== KEY_BYTES) throw new AgeKeyError('a recipient is neither an X25519 key of 32 bytes nor a passphrase', { hint: 'make recipients with parseRecipient or passphraseRecipient' });
    return wrapX25519(fileKey, r.publicKey);
  });
}

// The file key from the first stanza an identity opens. AgeNoIdentityError when none does; AgeIntegrityError for a
// malformed stanza or an scrypt stanza that is not alone (refused whichever identities are given).
export function unwrapFileKey(stanzas: Stanza[], identities: Identity[]): Buffer {
  if (identities.length === 0) throw new AgeKeyError('no identity to decrypt with', { hint: 'give an identity file (AGE-SECRET-KEY-1...) or the passphrase' });
  if (stanzas.length > 1 && stanzas.some((s) => s.type === SCRYPT_TYPE)) {
    throw new AgeIntegrityError('the header has an scrypt stanza beside other stanzas: age forbids that, a passphrase file must be encrypted to it alone');
  }
  for (const id of identities) {
    if (id.kind === 'x25519') {
      const publicKey = x25519PublicKey(id.secretKey);
      for (const s of stanzas) {
        const fileKey = unwrapX25519(s, id.secretKey, publicKey);
        if (fileKey) return fileKey;
      }
    } else {
      for (const s of stanzas) {
        const fileKey = unwrapScrypt(s, id.passphrase, id.maxWorkFactor ?? MAX_WORK_FACTOR);
        if (fileKey) return fileKey;
      }
    }
  }
  throw noIdentity(stanzas, identities);
}

function noIdentity(stanzas: Stanza[], identities: Identity[]): AgeNoIdentityError {
  const types = stanzas.map((s) => s.type);
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  const listed = [...counts].map(([t, n]) => (n > 1 ? `${t} x${n}` : t)).join(', ') || 'none';
  const wrongPassphrase = types.includes(SCRYPT_TYPE) && identities.some((i) => i.kind === 'scrypt');
  return new AgeNoIdentityError(
    wrongPassphrase ? 'the passphrase does not open this file' : `no identity given opens this file (its stanzas: ${listed})`,
    types,
    {
      hint: types.includes(SCRYPT_TYPE)
        ? 'the file is encrypted to a passphrase: give the one it was encrypted with'
        : 'give the identity (AGE-SECRET-KEY-1...) of one of the recipients the file was encrypted to',
    },
  );
}
