// The errors of lib/age. They carry a hint as PgopsError does, but lib/age knows nothing of pgops: the caller maps
// them to exit codes. Messages never hold key material, a passphrase or a line of an identity file.

// The base class: every error lib/age throws on purpose is one of these.
export class AgeError extends Error {
  readonly hint?: string;

  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AgeError';
    this.hint = opts.hint;
  }
}

// A recipient, identity or passphrase that cannot be used: malformed, wrong kind, bad checksum, bad work factor.
export class AgeKeyError extends AgeError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts);
    this.name = 'AgeKeyError';
  }
}

// The input is not an age file at all (it does not start with age's version line), or a header given to a
// parse-only function (headerInfo, rewrapHeader) is incomplete or malformed.
export class AgeFormatError extends AgeError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts);
    this.name = 'AgeFormatError';
  }
}

// None of the identities unwraps any stanza of the header. stanzaTypes says what the file is encrypted to (X25519,
// scrypt, ...): never which X25519 recipient, which the file does not say anyway.
export class AgeNoIdentityError extends AgeError {
  readonly stanzaTypes: string[];

  constructor(message: string, stanzaTypes: string[], opts: { hint?: string } = {}) {
    super(message, opts);
    this.name = 'AgeNoIdentityError';
    this.stanzaTypes = stanzaTypes;
  }
}

// An age file that was altered, truncated or damaged: a malformed or non-canonical header, a header MAC that does
// not match, a chunk that does not authenticate, a missing final chunk, bytes after it.
export class AgeIntegrityError extends AgeError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { hint: opts.hint ?? INTEGRITY_HINT, cause: opts.cause });
    this.name = 'AgeIntegrityError';
  }
}

const INTEGRITY_HINT = 'the file was altered, truncated or damaged after it was encrypted: use another copy of it';
