// age (https://age-encryption.org/v1) on Node's own crypto: X25519 and passphrase recipients, streaming encryption and
// decryption, and re-keying a file's header. Files it writes are read by age -d, and it reads what age writes.
export type { Identity, Recipient } from './keys.ts';
export { generateIdentity, parseIdentities, parseRecipient, passphraseIdentity, passphraseRecipient, recipientOf } from './keys.ts';
export type { Encoder, Sealed } from './stream.ts';
export { createEncoder, decryptBytes, decryptStream, encryptBytes, encryptStream } from './stream.ts';
export type { StanzaInfo } from './header.ts';
export { MAX_HEADER_BYTES, VERSION_LINE, headerInfo } from './header.ts';
export { rewrapHeader } from './rekey.ts';
export { AgeError, AgeFormatError, AgeIntegrityError, AgeKeyError, AgeNoIdentityError } from './errors.ts';
