import fs from 'node:fs/promises';
import {
  AgeError,
  AgeFormatError,
  AgeIntegrityError,
  AgeKeyError,
  AgeNoIdentityError,
  decryptBytes,
  encryptBytes,
  parseIdentities,
  parseRecipient,
  passphraseIdentity,
  passphraseRecipient,
  recipientOf,
  type Identity,
  type Recipient,
} from '../age/index.ts';
import { ExitCode, PgopsError, messageOf } from '../errors.ts';
import type { RepoEncryption } from './identity.ts';

// The keys of an encrypted repository (pgops-repo.json's encryption): the recipients a writer encrypts to, the
// identities a reader decrypts with, and the errors that name which key a task lacks. The age format itself is
// lib/age/.

/** the files a task was given: --identity, --passphrase-file */
export interface KeyFiles {
  identity?: string;
  passphraseFile?: string;
}

const RUNBOOK = 'runbooks/encryption.md';
// what a passphrase-mode repository's check holds: decrypting it proves a passphrase before anything is written
const CHECK_TEXT = 'pgops passphrase check\n';

// The recipients every writer of the repository encrypts to.
export async function writerRecipients(enc: RepoEncryption, files: KeyFiles, url: string): Promise<Recipient[]> {
  if (enc.passphrase) return [passphraseRecipient(await checkedPassphrase(enc, files, url), enc.passphrase.workFactor)];
  return enc.recipients.map((r) => parseRecipient(r));
}

// The identities a reader decrypts with; throws (exit 3) before the task reads or writes anything when it has none,
// or none that the repository's files are encrypted to.
export async function readerIdentities(enc: RepoEncryption, files: KeyFiles, url: string): Promise<Identity[]> {
  if (enc.passphrase) return [passphraseIdentity(await checkedPassphrase(enc, files, url))];
  if (!files.identity) {
    throw new PgopsError(`repository ${url} is encrypted to ${listRecipients(enc.recipients)}, and this task reads its files: it needs the identity of one of them`, {
      code: ExitCode.UNKNOWN,
      hint: `pass --identity FILE (or set PGOPS_AGE_IDENTITY_FILE), the age identity file of that recipient (age-keygen wrote it); it lives on the restore and drill hosts only (${RUNBOOK})`,
    });
  }
  const identities = await loadIdentities(files.identity);
  const known = new Set([...enc.recipients, ...(enc.previous ?? [])]);
  const mine = identities.flatMap((i) => (i.kind === 'x25519' ? [recipientOf(i)] : []));
  if (!mine.some((r) => known.has(r))) {
    throw new PgopsError(`the identity in ${files.identity} (${listRecipients(mine)}) is none of the recipients of repository ${url} (${listRecipients(enc.recipients)}${enc.previous?.length ? `; earlier: ${listRecipients(enc.previous)}` : ''}): it cannot read its files`, {
      code: ExitCode.UNKNOWN,
      hint: `use the identity whose public key repo init was given (age-keygen -y FILE prints a file's public key); ${RUNBOOK}`,
    });
  }
  return identities;
}

// The identities of an age identity file. Its content is never quoted in an error: it is a secret.
export async function loadIdentities(file: string): Promise<Identity[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new PgopsError(`cannot read the identity file ${file}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`, {
      code: ExitCode.UNKNOWN,
      hint: 'check --identity (or PGOPS_AGE_IDENTITY_FILE): the file age-keygen wrote, readable by the user pgops runs as',
    });
  }
  try {
    const identities = parseIdentities(text);
    if (identities.length === 0) throw new AgeKeyError('it holds no AGE-SECRET-KEY-1 line');
    return identities;
  } catch (err) {
    if (!(err instanceof AgeError)) throw err;
    throw new PgopsError(`${file} is not an age identity file: ${err.message}`, { code: ExitCode.UNKNOWN, hint: 'give the file age-keygen wrote (AGE-SECRET-KEY-1... lines), not its public key (age1...)' });
  }
}

// The passphrase of a passphrase-mode repository, proved against its check: a mistyped passphrase would otherwise
// store backups that nobody can read.
async function checkedPassphrase(enc: RepoEncryption, files: KeyFiles, url: string): Promise<string> {
  const passphrase = await readPassphrase(files.passphraseFile, url);
  try {
    if (decryptBytes(Buffer.from(enc.passphrase!.check, 'base64'), [passphraseIdentity(passphrase)]).toString('utf8') === CHECK_TEXT) return passphrase;
  } catch (err) {
    if (!(err instanceof AgeError)) throw err;
  }
  throw new PgopsError(`the passphrase in ${files.passphraseFile} is not the passphrase of repository ${url}`, {
    code: ExitCode.UNKNOWN,
    hint: 'nothing was read or written; check --passphrase-file (or PGOPS_AGE_PASSPHRASE_FILE): its first line is the passphrase repo init was given',
  });
}

// A passphrase file's first line (the newline is not part of it).
export async function readPassphrase(file: string | undefined, url: string): Promise<string> {
  if (!file) {
    throw new PgopsError(`repository ${url} is encrypted with a passphrase: this task needs it`, {
      code: ExitCode.UNKNOWN,
      hint: `pass --passphrase-file FILE (or set PGOPS_AGE_PASSPHRASE_FILE); the passphrase is never taken from the command line (${RUNBOOK})`,
    });
  }
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new PgopsError(`cannot read the passphrase file ${file}: ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`, { code: ExitCode.UNKNOWN, hint: 'check --passphrase-file (or PGOPS_AGE_PASSPHRASE_FILE)' });
  }
  const passphrase = text.split(/\r?\n/)[0];
  if (!passphrase) throw new PgopsError(`the passphrase file ${file} has an empty first line`, { code: ExitCode.UNKNOWN, hint: 'write the passphrase on its first line' });
  return passphrase;
}

// The check a passphrase-mode repository records (repo init).
export function passphraseCheck(passphrase: string, workFactor: number): string {
  return encryptBytes(CHECK_TEXT, [passphraseRecipient(passphrase, workFactor)]).toString('base64');
}

// Checks repo init's --encrypt-to values; throws (exit 3) naming the bad one.
export function checkRecipients(texts: readonly string[]): string[] {
  return texts.map((t) => {
    try {
      parseRecipient(t.trim());
      return t.trim();
    } catch (err) {
      throw new PgopsError(`--encrypt-to ${JSON.stringify(t)} is not an age recipient: ${messageOf(err)}`, {
        code: ExitCode.UNKNOWN,
        hint: 'give the public key (age1..., what age-keygen prints as "Public key", or age-keygen -y FILE), never the identity file',
      });
    }
  });
}

// What a failed decryption of key means, as a PgopsError: tampering (exit 6), the wrong key (exit 3).
export function decryptError(err: unknown, key: string, url: string): unknown {
  if (err instanceof AgeIntegrityError) {
    return new PgopsError(`${key} in ${url} fails the authentication of its encryption: ${err.message}`, {
      code: ExitCode.INTEGRITY,
      hint: 'the stored file was changed or damaged after it was written; nothing of it was used: restore another backup (pgops backups list) and find what changed it',
      cause: err,
    });
  }
  if (err instanceof AgeNoIdentityError) {
    return new PgopsError(`no identity given can read ${key} in ${url}: it is encrypted for other recipients`, {
      code: ExitCode.UNKNOWN,
      hint: `it was written before a key change and not re-wrapped by pgops repo rekey: pass the identity of that time (an identity file may hold several); ${RUNBOOK}`,
      cause: err,
    });
  }
  if (err instanceof AgeFormatError) {
    return new PgopsError(`${key} in ${url} is not a valid age file: ${err.message}`, { code: ExitCode.INTEGRITY, hint: 'the stored file was damaged: restore another backup (pgops backups list)', cause: err });
  }
  return err;
}

function listRecipients(recipients: readonly string[]): string {
  return recipients.join(', ') || 'no recipient';
}
