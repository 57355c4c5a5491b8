import crypto from 'node:crypto';
import { AgeFormatError, AgeIntegrityError } from './errors.ts';

// The age header (https://age-encryption.org/v1, C2SP age.md):
//
//   age-encryption.org/v1
//   -> X25519 <base64 share>            one stanza per recipient: a type, arguments,
//   <base64 body, 64 columns a line>    and a body whose last line is shorter than 64 columns (maybe empty)
//   --- <base64 HMAC-SHA256 of everything up to and including "---">
//
// Parsing is strict, as age's own: canonical unpadded base64, no CR, no line over 64 columns, one short line ending
// each body. A header has one encoding only, so a header that was altered is an error rather than a different header
// that happens to pass, and the MAC can be checked over the bytes as they came.

export const VERSION_LINE = Buffer.from('age-encryption.org/v1\n');
/** how much a reader buffers looking for the header's end ("--- ...\n") before it gives up */
export const MAX_HEADER_BYTES = 64 * 1024;

const VERSION_PREFIX = 'age-encryption.org/';
const COLUMNS = 64;
const BYTES_PER_LINE = (COLUMNS / 4) * 3;
const MAC_PREFIX = '---';
const STANZA_PREFIX = '->';
const NL = 0x0a;

export interface Stanza {
  type: string;
  args: string[];
  body: Buffer;
}

/** a stanza as headerInfo and decryptStream report it: its type and arguments, not its body */
export interface StanzaInfo {
  type: string;
  args: string[];
}

export interface ParsedHeader {
  stanzas: Stanza[];
  mac: Buffer;
  /** what the MAC covers: the header's bytes up to and including "---" */
  macInput: Buffer;
  /** the header's length in bytes, its final newline included: the nonce starts there */
  length: number;
}

// Unpadded standard base64, refusing anything but the one canonical encoding (Buffer.from ignores junk and padding
// bits, so the round trip is what proves it canonical).
export function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return encodeBase64(bytes) === text ? bytes : undefined;
}

export function encodeBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

// Finds where the header at the start of a growing buffer ends, as its bytes arrive: after the first line that
// starts with "---" (stanza lines start with "->" and body lines are base64, which has no "-"). scan throws
// AgeFormatError as soon as the bytes stop matching the version line, so that a reader of something else stops at
// once instead of buffering MAX_HEADER_BYTES of it.
export class HeaderScanner {
  private lineStart = VERSION_LINE.length;
  private scanned = VERSION_LINE.length;
  private versionSeen = false;

  // buf: every header byte so far, from the first. Returns the header's length, or -1 while its last line is missing.
  scan(buf: Buffer): number {
    if (!this.versionSeen) {
      const n = Math.min(buf.length, VERSION_LINE.length);
      if (!buf.subarray(0, n).equals(VERSION_LINE.subarray(0, n))) {
        if (buf.toString('latin1', 0, VERSION_PREFIX.length) === VERSION_PREFIX) {
          throw new AgeFormatError('unsupported age version: the file does not start with age-encryption.org/v1', { hint: 'only age v1 files are supported' });
        }
        throw new AgeFormatError('not an age file: it does not start with the line age-encryption.org/v1', {
          hint: 'the file is not encrypted, is ASCII-armored (age -a, not supported), or was encrypted by something else than age',
        });
      }
      if (n < VERSION_LINE.length) return -1;
      this.versionSeen = true;
    }
    for (let nl = buf.indexOf(NL, this.scanned); nl !== -1; nl = buf.indexOf(NL, nl + 1)) {
      if (buf.toString('latin1', this.lineStart, this.lineStart + MAC_PREFIX.length) === MAC_PREFIX) return nl + 1;
      this.lineStart = nl + 1;
    }
    this.scanned = buf.length;
    return -1;
  }
}

// The length of the header at the start of buf, or -1 when buf does not hold all of it.
export function headerEnd(buf: Buffer): number {
  return new HeaderScanner().scan(buf);
}

// Parses a complete header (bytes = exactly the header, as headerEnd delimits it). Throws AgeFormatError for a wrong
// version line, AgeIntegrityError for anything malformed after it.
export function parseHeader(bytes: Buffer): ParsedHeader {
  if (headerEnd(bytes) !== bytes.length) throw new AgeFormatError('incomplete age header: no "---" line, or bytes after it');
  const lines = bytes.toString('latin1').split('\n');
  if (lines.pop() !== '') throw malformed(lines.length, 'the header does not end with a newline');
  const stanzas: Stanza[] = [];
  let i = 1;
  while (i < lines.length && !lines[i].startsWith(MAC_PREFIX)) {
    const [prefix, ...args] = lines[i].split(' ');
    if (prefix !== STANZA_PREFIX || args.length < 1) throw malformed(i + 1, 'expected a stanza line "-> TYPE ARGS..." or the "---" line');
    if (!args.every(validArgument)) throw malformed(i + 1, 'a stanza argument is empty or has a character outside ASCII 33-126');
    const body: Buffer[] = [];
    for (;;) {
      i++;
      if (i >= lines.length) throw malformed(i, 'the stanza body ends without a line shorter than 64 columns');
      const bytesOfLine = decodeBase64(lines[i]);
      if (!bytesOfLine) throw malformed(i + 1, 'a stanza body line is not canonical unpadded base64 (or the body ends without a short line)');
      if (bytesOfLine.length > BYTES_PER_LINE) throw malformed(i + 1, 'a stanza body line is longer than 64 columns');
      body.push(bytesOfLine);
      if (bytesOfLine.length < BYTES_PER_LINE) break;
    }
    stanzas.push({ type: args[0], args: args.slice(1), body: Buffer.concat(body) });
    i++;
  }
  if (i !== lines.length - 1) throw malformed(i + 1, 'expected the "---" line last');
  const [prefix, macText, ...rest] = lines[i].split(' ');
  const mac = macText === undefined ? undefined : decodeBase64(macText);
  if (prefix !== MAC_PREFIX || rest.length > 0 || !mac || mac.length !== 32) {
    throw malformed(i + 1, 'expected "--- " and the canonical base64 of a 32-byte MAC');
  }
  const macInputLength = bytes.length - 1 - lines[i].length + MAC_PREFIX.length;
  return { stanzas, mac, macInput: bytes.subarray(0, macInputLength), length: bytes.length };
}

// The header at the start of head (the first bytes of a file): AgeFormatError when head does not hold all of it or
// it is not an age header, AgeIntegrityError when it is malformed.
export function readHeader(head: Buffer): ParsedHeader {
  const end = headerEnd(head);
  if (end === -1) {
    throw new AgeFormatError(`incomplete age header: no "---" line in the ${head.length} bytes given`, {
      hint: `give the file's first ${MAX_HEADER_BYTES} bytes, or all of it when it is shorter`,
    });
  }
  return parseHeader(head.subarray(0, end));
}

// The stanzas and length of the header at the start of head, parsed only: no key needed. AgeFormatError when head
// is not, or does not hold, a well-formed age header.
export function headerInfo(head: Buffer): { stanzas: StanzaInfo[]; headerLength: number } {
  let header: ParsedHeader;
  try {
    header = readHeader(head);
  } catch (err) {
    if (err instanceof AgeIntegrityError) throw new AgeFormatError(err.message, { hint: err.hint, cause: err });
    throw err;
  }
  return { stanzas: header.stanzas.map(({ type, args }) => ({ type, args })), headerLength: header.length };
}

function validArgument(arg: string): boolean {
  return arg.length > 0 && /^[\x21-\x7e]+$/.test(arg);
}

function malformed(line: number, why: string): AgeIntegrityError {
  return new AgeIntegrityError(`malformed age header, line ${line}: ${why}`);
}

// The header for stanzas, with its MAC under fileKey.
export function serializeHeader(stanzas: Stanza[], fileKey: Buffer): Buffer {
  let text = VERSION_LINE.toString('latin1');
  for (const s of stanzas) {
    text += [STANZA_PREFIX, s.type, ...s.args].join(' ') + '\n';
    const b64 = encodeBase64(s.body);
    // The last line is always shorter than 64 columns: an empty line follows a body of whole lines.
    for (let at = 0; at <= b64.length; at += COLUMNS) text += b64.slice(at, at + COLUMNS) + '\n';
  }
  const macInput = Buffer.from(text + MAC_PREFIX, 'latin1');
  return Buffer.concat([macInput, Buffer.from(' ' + encodeBase64(headerMac(fileKey, macInput)) + '\n', 'latin1')]);
}

// HMAC-SHA256 of the header under HKDF(fileKey, info "header").
export function headerMac(fileKey: Buffer, macInput: Buffer): Buffer {
  const key = Buffer.from(crypto.hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32));
  return crypto.createHmac('sha256', key).update(macInput).digest();
}

// Throws AgeIntegrityError unless the header's MAC is the one fileKey gives.
export function checkMac(header: ParsedHeader, fileKey: Buffer): void {
  if (!crypto.timingSafeEqual(headerMac(fileKey, header.macInput), header.mac)) {
    throw new AgeIntegrityError('the age header does not match its MAC: the header was altered');
  }
}

// A stanza body: the 16-byte file key sealed with ChaCha20-Poly1305 under a one-time key (from X25519 or scrypt),
// hence the zero nonce.
export function sealFileKey(wrapKey: Buffer, fileKey: Buffer): Buffer {
  const cipher = crypto.createCipheriv('chacha20-poly1305', wrapKey, Buffer.alloc(12), { authTagLength: 16 });
  return Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
}

export const FILE_KEY_BYTES = 16;
export const WRAPPED_KEY_BYTES = FILE_KEY_BYTES + 16;

// The file key of a stanza body, or undefined when wrapKey is not the one it was sealed under. The caller checks the
// body's length first (age refuses a body of any other length as malformed, not as a mismatch).
export function openFileKey(wrapKey: Buffer, body: Buffer): Buffer | undefined {
  const decipher = crypto.createDecipheriv('chacha20-poly1305', wrapKey, Buffer.alloc(12), { authTagLength: 16 });
  decipher.setAuthTag(body.subarray(FILE_KEY_BYTES));
  const fileKey = decipher.update(body.subarray(0, FILE_KEY_BYTES));
  try {
    decipher.final();
  } catch {
    return undefined;
  }
  return fileKey;
}
