import { checkMac, readHeader, serializeHeader } from './header.ts';
import { type Identity, type Recipient, unwrapFileKey, wrapFileKey } from './keys.ts';

// Re-keying a stored file without re-encrypting it: only the header names the recipients, so a new header that wraps
// the same file key for new recipients (and MACs it under that key) makes header + old payload a file they open,
// with the nonce and every chunk byte for byte as they were. Whoever read the old file key can still read the
// payload: this removes a recipient from the file, not from what it may have copied.

// A new header for recipients, wrapping the file key that identities unwrap from the header at the start of head
// (the file's first bytes, at least its header). The new file is header + the old file from oldHeaderLength on.
// AgeNoIdentityError when no identity opens it, AgeIntegrityError when the header is malformed or fails its MAC,
// AgeFormatError when head holds no complete age header.
export function rewrapHeader(head: Buffer, identities: Identity[], recipients: Recipient[]): { header: Buffer; oldHeaderLength: number } {
  const old = readHeader(head);
  const fileKey = unwrapFileKey(old.stanzas, identities);
  checkMac(old, fileKey);
  return { header: serializeHeader(wrapFileKey(fileKey, recipients), fileKey), oldHeaderLength: old.length };
}
