// WAL file names and segment arithmetic, as PostgreSQL's xlog_internal.h defines them.
//
// A segment is named TTTTTTTTXXXXXXXXYYYYYYYY: timeline, then the segment number split into "log" (segno / segments
// per 4 GB) and "seg" (segno % segments per 4 GB), 8 upper-case hex digits each. Segment numbers stay below 2^53 for
// any segment size PostgreSQL allows (1 MB and up), so they are plain numbers; LSNs are 64-bit and use bigint.

export type WalFileKind = 'segment' | 'partial' | 'history' | 'backup';

// What a WAL file's name says; segment, partial and backup names carry the segment as log and seg parts.
export interface WalFileName {
  name: string;
  kind: WalFileKind;
  timeline: number;
  /** the 8-hex-digit log and seg parts of the segment (not history files) */
  log?: number;
  seg?: number;
}

const PATTERNS: [WalFileKind, RegExp][] = [
  ['segment', /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/],
  ['partial', /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.partial$/],
  ['backup', /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.[0-9A-F]{8}\.backup$/],
  ['history', /^([0-9A-F]{8})\.history$/],
];

// Parses a WAL file name (segment, .partial segment, timeline .history file, backup label .backup file); undefined otherwise.
export function parseWalFileName(name: string): WalFileName | undefined {
  for (const [kind, re] of PATTERNS) {
    const m = re.exec(name);
    if (!m) continue;
    const timeline = parseInt(m[1], 16);
    if (timeline === 0) return undefined;
    if (kind === 'history') return { name, kind, timeline };
    return { name, kind, timeline, log: parseInt(m[2], 16), seg: parseInt(m[3], 16) };
  }
  return undefined;
}

// True for a segment size PostgreSQL accepts: a power of two from 1 MB to 1 GB.
export function isValidSegmentSize(bytes: number): boolean {
  return Number.isInteger(bytes) && bytes >= 1024 * 1024 && bytes <= 1024 ** 3 && (bytes & (bytes - 1)) === 0;
}

// How many segments make up one "log" (4 GB of WAL).
export function segmentsPerLog(segmentSize: number): number {
  return 0x1_0000_0000 / segmentSize;
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');

// The file name of segment segno on a timeline.
export function segmentName(timeline: number, segno: number, segmentSize: number): string {
  const per = segmentsPerLog(segmentSize);
  return hex8(timeline) + hex8(Math.floor(segno / per)) + hex8(segno % per);
}

// The segment number a parsed segment, partial or backup name stands for; undefined when its seg part is out of range.
export function segmentNumber(file: WalFileName, segmentSize: number): number | undefined {
  if (file.log === undefined || file.seg === undefined) return undefined;
  const per = segmentsPerLog(segmentSize);
  if (file.seg >= per) return undefined;
  return file.log * per + file.seg;
}

// The history file name of a timeline: 00000002.history.
export function historyFileName(timeline: number): string {
  return `${hex8(timeline)}.history`;
}

// Parses an LSN written as PostgreSQL prints it: 16/B374D848.
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`invalid LSN "${text}": expected two hex numbers like 16/B374D848`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

// Formats an LSN as PostgreSQL prints it.
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

// The number of the segment that holds the byte at lsn.
export function segmentOfLsn(lsn: bigint, segmentSize: number): number {
  return Number(lsn / BigInt(segmentSize));
}

// The number of the segment that holds the last byte before lsn (PostgreSQL's XLByteToPrevSeg): where a record that
// ends at lsn lies, so the last segment a base backup that stops at lsn needs.
export function segmentBeforeLsn(lsn: bigint, segmentSize: number): number {
  if (lsn <= 0n) throw new Error(`no WAL lies before LSN ${formatLsn(lsn)}`);
  return Number((lsn - 1n) / BigInt(segmentSize));
}

// Sorts WAL file names the way the archive holds them: by name, which is timeline then segment order.
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
