import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgeFormatError, AgeIntegrityError, encryptBytes, generateIdentity, headerInfo, parseRecipient } from '../../../lib/age/index.ts';
import { HeaderScanner, checkMac, decodeBase64, headerEnd, parseHeader, serializeHeader } from '../../../lib/age/header.ts';

const fileKey = Buffer.alloc(16, 0x42);

function stanzaWithBody(n: number) {
  return { type: 'test', args: ['a', 'b'], body: crypto.randomBytes(n) };
}

describe('the age header', () => {
  it('wraps bodies at 64 columns and always ends them with a short line', () => {
    const text = serializeHeader([stanzaWithBody(0), stanzaWithBody(47), stanzaWithBody(48), stanzaWithBody(96)], fileKey).toString();
    const lines = text.split('\n');
    expect(lines[0]).toBe('age-encryption.org/v1');
    expect(lines[1]).toBe('-> test a b');
    expect(lines[2]).toBe(''); // empty body: one empty line
    expect(lines[4]).toHaveLength(63); // 47 bytes: 63 columns, short already
    expect([lines[6].length, lines[7]]).toEqual([64, '']); // 48 bytes: a full line, then an empty one
    expect([lines[9].length, lines[10].length, lines[11]]).toEqual([64, 64, '']);
    expect(lines[12]).toMatch(/^--- [A-Za-z0-9+/]{43}$/);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('parses what it serializes, and the MAC checks', () => {
    const stanzas = [stanzaWithBody(0), stanzaWithBody(32), stanzaWithBody(48), stanzaWithBody(100)];
    const bytes = serializeHeader(stanzas, fileKey);
    const parsed = parseHeader(bytes);
    expect(parsed.stanzas).toEqual(stanzas);
    expect(parsed.length).toBe(bytes.length);
    expect(parsed.macInput.toString().endsWith('\n---')).toBe(true);
    expect(() => checkMac(parsed, fileKey)).not.toThrow();
    expect(() => checkMac(parsed, Buffer.alloc(16, 0x43))).toThrow(AgeIntegrityError);
  });

  it('accepts only canonical unpadded base64', () => {
    expect(decodeBase64('AAAA')).toEqual(Buffer.alloc(3));
    expect(decodeBase64('AA')).toEqual(Buffer.alloc(1));
    expect(decodeBase64('AA==')).toBeUndefined(); // padding
    expect(decodeBase64('AB')).toBeUndefined(); // non-zero trailing bits: a second spelling of AA
    expect(decodeBase64('AAA\r')).toBeUndefined();
    expect(decodeBase64('A')).toBeUndefined();
    expect(decodeBase64('AA-_')).toBeUndefined(); // the URL alphabet
  });

  it('refuses a body line over 64 columns and a stanza without its short line', () => {
    const good = serializeHeader([stanzaWithBody(48)], fileKey).toString();
    const lines = good.split('\n');
    const long = [...lines.slice(0, 2), lines[2] + 'AAAA', ...lines.slice(4)].join('\n');
    expect(() => parseHeader(Buffer.from(long))).toThrow(/longer than 64 columns/);
    const noShortLine = [...lines.slice(0, 3), ...lines.slice(4)].join('\n');
    expect(() => parseHeader(Buffer.from(noShortLine))).toThrow(AgeIntegrityError);
  });

  it('finds the end of a header fed one byte at a time, and stops at once on something else', () => {
    const { recipient } = generateIdentity();
    const file = encryptBytes('hello', [parseRecipient(recipient), parseRecipient(recipient)]);
    const end = headerEnd(file);
    expect(file.subarray(0, end).toString()).toMatch(/\n--- \S{43}\n$/);
    const scanner = new HeaderScanner();
    const found = Array.from({ length: file.length }, (_, i) => scanner.scan(file.subarray(0, i + 1))).findIndex((e) => e !== -1);
    expect(found + 1).toBe(end);
    expect(() => new HeaderScanner().scan(Buffer.from('PK\x03\x04'))).toThrow(AgeFormatError);
    expect(() => new HeaderScanner().scan(Buffer.from('age-encryption.org/v2\n'))).toThrow(/unsupported age version/);
  });
});

describe('headerInfo', () => {
  it('gives the stanzas and the header length, with no key', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const file = encryptBytes(crypto.randomBytes(100_000), [parseRecipient(a.recipient), parseRecipient(b.recipient)]);
    const info = headerInfo(file.subarray(0, 4096));
    expect(info.stanzas.map((s) => s.type)).toEqual(['X25519', 'X25519']);
    expect(info.stanzas[0].args[0]).toMatch(/^[A-Za-z0-9+/]{43}$/);
    expect(info.headerLength).toBe(headerEnd(file));
    // the payload is nonce (16) + 2 chunks, each with a 16-byte tag
    expect(file.length - info.headerLength).toBe(16 + 100_000 + 2 * 16);
  });

  it('is an AgeFormatError for a header cut short, something else, or a malformed header', () => {
    const { recipient } = generateIdentity();
    const file = encryptBytes('x', [parseRecipient(recipient)]);
    expect(() => headerInfo(file.subarray(0, 60))).toThrow(AgeFormatError);
    expect(() => headerInfo(Buffer.from('just some text\n--- \n'))).toThrow(AgeFormatError);
    const malformed = Buffer.from(file.toString('latin1').replace('-> X25519 ', '-> X25519  '), 'latin1');
    expect(() => headerInfo(malformed)).toThrow(AgeFormatError);
  });
});
