import { describe, expect, it } from 'vitest';
import { headerMismatch, LONG_HEADER_SIZE, parseSegmentHeader } from '../../../lib/wal/header.ts';
import { parseWalFileName } from '../../../lib/wal/names.ts';

const MB = 1024 * 1024;

// The first 40 bytes of a segment as PostgreSQL 15 writes them (XLogLongPageHeaderData, little-endian).
function header(o: { magic?: number; info?: number; tli?: number; pageaddr?: bigint; sysid?: bigint; segSize?: number; blcksz?: number } = {}): Buffer {
  const b = Buffer.alloc(LONG_HEADER_SIZE);
  b.writeUInt16LE(o.magic ?? 0xd110, 0);
  b.writeUInt16LE(o.info ?? 0x0006, 2);
  b.writeUInt32LE(o.tli ?? 1, 4);
  b.writeBigUInt64LE(o.pageaddr ?? 3n * 16n * BigInt(MB), 8);
  b.writeBigUInt64LE(o.sysid ?? 7711452911105411229n, 24);
  b.writeUInt32LE(o.segSize ?? 16 * MB, 32);
  b.writeUInt32LE(o.blcksz ?? 8192, 36);
  return b;
}

describe('the long page header of a WAL segment', () => {
  it('carries the system identifier, the segment size and the position', () => {
    expect(parseSegmentHeader(header())).toEqual({
      magic: 0xd110,
      version: 15,
      timeline: 1,
      pageAddress: 3n * 16n * BigInt(MB),
      systemIdentifier: '7711452911105411229',
      segmentSize: 16 * MB,
      blockSize: 8192,
    });
  });

  it('keeps system identifiers above 2^63 exact', () => {
    expect(parseSegmentHeader(header({ sysid: 18446744073709551615n })).systemIdentifier).toBe('18446744073709551615');
  });

  it('refuses bytes that are not a long page header', () => {
    expect(() => parseSegmentHeader(Buffer.alloc(10))).toThrow(/40-byte header/);
    expect(() => parseSegmentHeader(Buffer.alloc(LONG_HEADER_SIZE))).toThrow(/not a WAL page magic/);
    expect(() => parseSegmentHeader(header({ info: 0x0001 }))).toThrow(/no long header/);
    expect(() => parseSegmentHeader(header({ segSize: 3 * MB }))).toThrow(/segment size/);
    expect(() => parseSegmentHeader(header({ blcksz: 1000 }))).toThrow(/block size/);
  });

  it('must fit the file name and size', () => {
    const h = parseSegmentHeader(header());
    expect(headerMismatch(h, parseWalFileName('000000010000000000000003')!, 16 * MB)).toBeUndefined();
    expect(headerMismatch(h, parseWalFileName('000000010000000000000004')!, 16 * MB)).toMatch(/holds WAL from byte 50331648, the name 000000010000000000000004 says from 67108864/);
    expect(headerMismatch(h, parseWalFileName('000000010000000000000003')!, 8 * MB)).toMatch(/8388608 bytes/);
    expect(headerMismatch(parseSegmentHeader(header({ tli: 3 })), parseWalFileName('000000020000000000000003')!, 16 * MB)).toMatch(/timeline 3/);
  });

  it('accepts the first segment of a new timeline, which keeps its parent timeline in the header', () => {
    const h = parseSegmentHeader(header({ tli: 1 }));
    expect(headerMismatch(h, parseWalFileName('000000020000000000000003')!, 16 * MB)).toBeUndefined();
    expect(headerMismatch(h, parseWalFileName('000000020000000000000003.partial')!, 16 * MB)).toBeUndefined();
  });
});
