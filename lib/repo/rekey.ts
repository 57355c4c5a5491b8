import { Readable } from 'node:stream';
import { AgeError, AgeNoIdentityError, headerInfo, MAX_HEADER_BYTES, rewrapHeader, VERSION_LINE, type Identity, type Recipient } from '../age/index.ts';
import { decryptError } from './encryption.ts';
import type { Digest } from './open-file.ts';
import type { Repo } from './repo.ts';
import { SEALED_FIELD } from './sealed-json.ts';

// Re-wrapping one stored age file for new recipients: its header is replaced, its nonce and payload are copied byte
// for byte (age's header holds the file key wrapped for each recipient; the data is encrypted under that key).

export type Rewrapped = { status: 'rewrapped'; sealed: Digest } | { status: 'plain' } | { status: 'unreadable'; reason: string };

// Rewrites key (an age file) with a header for recipients; plain: no age header (stored before encryption).
export async function rewrapObject(raw: Repo, key: string, identities: Identity[], recipients: Recipient[], signal?: AbortSignal): Promise<Rewrapped> {
  const source = await raw.get(key);
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  let headerLength: number | undefined;
  try {
    // enough of the start to hold the header
    while (headerLength === undefined) {
      const next = await chunks.next();
      if (!next.done) head = Buffer.concat([head, next.value]);
      if (head.length >= VERSION_LINE.length && !head.subarray(0, VERSION_LINE.length).equals(VERSION_LINE)) return { status: 'plain' };
      try {
        headerLength = headerInfo(head).headerLength;
      } catch (err) {
        if (next.done || head.length > MAX_HEADER_BYTES) throw err;
      }
    }
    let header: Buffer;
    try {
      header = rewrapHeader(head, identities, recipients).header;
    } catch (err) {
      if (err instanceof AgeNoIdentityError) return { status: 'unreadable', reason: 'no identity given unwraps its key' };
      throw err;
    }
    const rest = head.subarray(headerLength);
    const body = Readable.from(
      (async function* () {
        yield header;
        if (rest.length) yield rest;
        for (;;) {
          const next = await chunks.next();
          if (next.done) return;
          yield next.value;
        }
      })(),
      { objectMode: false },
    );
    const put = await raw.put(key, body, { signal });
    return { status: 'rewrapped', sealed: { size: put.size, sha256: put.sha256 } };
  } catch (err) {
    if (err instanceof AgeError) throw decryptError(err, key, raw.url);
    throw err;
  } finally {
    source.destroy();
  }
}

// A sealed document's seal re-wrapped (the document's other fields untouched); the document itself when it has none.
export function rewrapDocument(doc: Record<string, unknown>, identities: Identity[], recipients: Recipient[]): Record<string, unknown> {
  const sealed = doc[SEALED_FIELD];
  if (typeof sealed !== 'string') return doc;
  const bytes = Buffer.from(sealed, 'base64');
  const { header, oldHeaderLength } = rewrapHeader(bytes, identities, recipients);
  return { ...doc, [SEALED_FIELD]: Buffer.concat([header, bytes.subarray(oldHeaderLength)]).toString('base64') };
}
