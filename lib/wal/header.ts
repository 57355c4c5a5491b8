import { segmentNumber, isValidSegmentSize, type WalFileName } from './names.ts';

// The long page header that starts every WAL segment (XLogLongPageHeaderData in xlog_internal.h), little-endian:
//   0 xlp_magic u16, 2 xlp_info u16, 4 xlp_tli u32, 8 xlp_pageaddr u64, 16 xlp_rem_len u32, (4 bytes padding),
//   24 xlp_sysid u64, 32 xlp_seg_size u32, 36 xlp_xlog_blcksz u32
export const LONG_HEADER_SIZE = 40;
const XLP_LONG_HEADER = 0x0002;

// XLOG_PAGE_MAGIC of each major version, to name the version in messages (an unknown magic is not refused).
const MAGIC_VERSIONS: Record<number, number> = { 0xd093: 9.6, 0xd097: 10, 0xd098: 11, 0xd101: 12, 0xd106: 13, 0xd10d: 14, 0xd110: 15, 0xd113: 16, 0xd116: 17 };

export interface SegmentHeader {
  magic: number;
  /** the PostgreSQL major version the magic belongs to, when known */
  version?: number;
  timeline: number;
  pageAddress: bigint;
  systemIdentifier: string;
  segmentSize: number;
  blockSize: number;
}

// Reads the long page header at the start of a segment; throws when the bytes are not one.
export function parseSegmentHeader(buf: Buffer): SegmentHeader {
  if (buf.length < LONG_HEADER_SIZE) throw new Error(`a WAL segment starts with a ${LONG_HEADER_SIZE}-byte header, the file has ${buf.length} bytes`);
  const magic = buf.readUInt16LE(0);
  const info = buf.readUInt16LE(2);
  const header: SegmentHeader = {
    magic,
    version: MAGIC_VERSIONS[magic],
    timeline: buf.readUInt32LE(4),
    pageAddress: buf.readBigUInt64LE(8),
    systemIdentifier: buf.readBigUInt64LE(24).toString(),
    segmentSize: buf.readUInt32LE(32),
    blockSize: buf.readUInt32LE(36),
  };
  const problems: string[] = [];
  if ((magic & 0xf000) !== 0xd000) problems.push(`magic 0x${magic.toString(16)} is not a WAL page magic (0xD0xx)`);
  if (!(info & XLP_LONG_HEADER)) problems.push('the first page has no long header (XLP_LONG_HEADER)');
  if (!isValidSegmentSize(header.segmentSize)) problems.push(`segment size ${header.segmentSize} is not a power of two from 1 MB to 1 GB`);
  if (header.blockSize < 1024 || header.blockSize > 65536 || (header.blockSize & (header.blockSize - 1)) !== 0) problems.push(`block size ${header.blockSize} is not a power of two from 1 kB to 64 kB`);
  if (header.timeline === 0) problems.push('timeline 0');
  if (problems.length) throw new Error(`not a WAL segment header: ${problems.join('; ')}`);
  return header;
}

// Why a segment's header does not fit its file name and size, or undefined when it does.
export function headerMismatch(header: SegmentHeader, file: WalFileName, fileSize: number): string | undefined {
  const segno = segmentNumber(file, header.segmentSize);
  if (segno === undefined) return `the name ${file.name} is not a valid segment name for ${header.segmentSize}-byte segments`;
  const expected = BigInt(segno) * BigInt(header.segmentSize);
  if (header.pageAddress !== expected) return `its header says it holds WAL from byte ${header.pageAddress}, the name ${file.name} says from ${expected}`;
  // the first segment of a new timeline is a copy of the parent's and keeps the parent's timeline in its first page
  if (header.timeline > file.timeline) return `its header is on timeline ${header.timeline}, the name ${file.name} on timeline ${file.timeline}`;
  if (fileSize !== header.segmentSize) return `it has ${fileSize} bytes, its header says segments have ${header.segmentSize}`;
  return undefined;
}
