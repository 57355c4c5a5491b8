import { describe, expect, it } from 'vitest';
import {
  AgeKeyError,
  generateIdentity,
  parseIdentities,
  parseRecipient,
  passphraseIdentity,
  passphraseRecipient,
  recipientOf,
} from '../../../lib/age/index.ts';
import { bech32Encode } from '../../../lib/age/bech32.ts';

// age's testdata/example_keys.txt key, and the recipient age-keygen -y prints for it.
const IDENTITY = 'AGE-SECRET-KEY-184JMZMVQH3E6U0PSL869004Y3U2NYV7R30EU99CSEDNPH02YUVFSZW44VU';
const RECIPIENT = 'age1cy0su9fwf3gf9mw868g5yut09p6nytfmmnktexz2ya5uqg9vl9sss4euqm';

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('recipients', () => {
  it('parses an age1 recipient into its 32-byte key', () => {
    const r = parseRecipient(`  ${RECIPIENT}\n`);
    expect(r).toMatchObject({ kind: 'x25519', text: RECIPIENT });
    expect(r.kind === 'x25519' && r.publicKey.length).toBe(32);
  });

  it('refuses a secret key given as a recipient, without echoing it', () => {
    const err = thrown(() => parseRecipient(IDENTITY));
    expect(err).toBeInstanceOf(AgeKeyError);
    expect(err.message).toMatch(/expected an age recipient \(age1\.\.\.\), got a secret key/);
    expect(JSON.stringify({ m: err.message, h: (err as AgeKeyError).hint })).not.toContain(IDENTITY.slice(16));
  });

  it('says what it expected for anything else', () => {
    expect(thrown(() => parseRecipient('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI user@host'))).toMatchObject({
      message: expect.stringMatching(/expected an age X25519 recipient \(age1/),
      hint: expect.stringMatching(/ssh keys are not supported/),
    });
    expect(thrown(() => parseRecipient(''))).toBeInstanceOf(AgeKeyError);
    expect(thrown(() => parseRecipient(RECIPIENT.slice(0, -1) + (RECIPIENT.endsWith('m') ? 'n' : 'm'))).message).toMatch(/invalid checksum/);
    // a plugin recipient: valid bech32, another type
    expect(thrown(() => parseRecipient(bech32Encode('age1yubikey', Buffer.alloc(33, 7)))).message).toMatch(/unsupported age recipient/);
    expect(thrown(() => parseRecipient(bech32Encode('age', Buffer.alloc(31, 7)))).message).toMatch(/unsupported age recipient/);
  });
});

describe('identity files', () => {
  it('reads the keys of an identity file, skipping comments and blank lines, with CRLF line ends', () => {
    const other = generateIdentity();
    const text = `# created: 2024-01-01T00:00:00Z\r\n# public key: ${RECIPIENT}\r\n${IDENTITY}\r\n\r\n  \r\n${other.identity}\r\n`;
    const ids = parseIdentities(text);
    expect(ids.map((i) => i.kind === 'x25519' && i.recipient)).toEqual([RECIPIENT, other.recipient]);
  });

  it('derives the recipient age-keygen -y prints', () => {
    const [id] = parseIdentities(IDENTITY);
    expect(id.kind === 'x25519' && recipientOf(id)).toBe(RECIPIENT);
  });

  it('reports a bad line by its number, never by its content', () => {
    const secretish = 'AGE-SECRET-KEY-1' + IDENTITY.slice(16, -1) + (IDENTITY.endsWith('U') ? 'Q' : 'U');
    for (const [line, bad] of [[3, secretish], [2, 'hunter2-my-passphrase'], [4, RECIPIENT], [2, 'age-secret-key-184jmzmvqh3e6u0psl869004y3u2nyv7r30eu99csednph02yuvfszw44vu']] as const) {
      const lines = ['# comment', IDENTITY, IDENTITY, IDENTITY];
      lines[line - 1] = bad;
      const err = thrown(() => parseIdentities(lines.join('\n')));
      expect(err).toBeInstanceOf(AgeKeyError);
      expect(err.message).toContain(`line ${line}:`);
      expect(JSON.stringify({ m: err.message, h: (err as AgeKeyError).hint })).not.toContain(bad.slice(4, 24));
    }
  });

  it('refuses a file with no key in it', () => {
    expect(thrown(() => parseIdentities('# only a comment\n\n'))).toMatchObject({ name: 'AgeKeyError', message: expect.stringMatching(/no identity/) });
  });
});

describe('generated identities', () => {
  it('are age-keygen shaped and parse back to their recipient', () => {
    const { identity, recipient } = generateIdentity();
    expect(identity).toMatch(/^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/);
    expect(recipient).toMatch(/^age1[02-9ac-hj-np-z]{58}$/);
    const [id] = parseIdentities(identity);
    expect(id.kind === 'x25519' && recipientOf(id)).toBe(recipient);
    expect(parseRecipient(recipient).kind).toBe('x25519');
    expect(generateIdentity().identity).not.toBe(identity);
  });
});

describe('passphrases', () => {
  it('default to work factor 16 and refuse what no reader would accept', () => {
    expect(passphraseRecipient('correct horse')).toEqual({ kind: 'scrypt', passphrase: 'correct horse', workFactor: 16 });
    expect(passphraseIdentity('correct horse')).toEqual({ kind: 'scrypt', passphrase: 'correct horse' });
    for (const wf of [0, 23, 16.5, Number.NaN]) expect(thrown(() => passphraseRecipient('pw', wf))).toBeInstanceOf(AgeKeyError);
    expect(thrown(() => passphraseRecipient(''))).toBeInstanceOf(AgeKeyError);
    expect(thrown(() => passphraseIdentity(''))).toBeInstanceOf(AgeKeyError);
  });
});
