import { ExitCode, PgopsError } from '../errors.ts';

// The tar archives pg_basebackup writes (PostgreSQL's src/port/tar.c): ustar headers, names up to 99 bytes, regular
// files, directories and symlinks, 512-byte blocks, two zero blocks at the end. The parser is pushed chunks as they
// stream past (basebackup reads backup_label and backup_manifest from the stream it stores; recover lays files down)
// and calls its handlers synchronously; it copies only header blocks, never file data. Every byte of an archive but
// the files' data is checked here (headers by their checksum, padding and the end-of-archive blocks as zeros): with
// each file's data checked against backup_manifest's sums (extract.ts), a byte changed anywhere is found.

const BLOCK = 512;

export type TarEntryType = 'file' | 'directory' | 'symlink';

export interface TarEntry {
  /** the member's path: "base/1/1259", "pg_wal/", "backup_label" (directories end in /) */
  name: string;
  type: TarEntryType;
  /** permission bits */
  mode: number;
  size: number;
  /** a symlink's target */
  linkName: string;
  /** seconds since the epoch */
  mtime: number;
}

export interface TarHandlers {
  /** a member begins; its data follows in data() calls, then end() */
  entry?(e: TarEntry): void;
  /** a piece of the member's data (a view into the pushed chunk: copy it to keep it) */
  data?(e: TarEntry, chunk: Buffer): void;
  /** the member's data is complete */
  end?(e: TarEntry): void;
}

// A malformed archive: what was found, where.
function malformed(what: string, offset: number): PgopsError {
  return new PgopsError(`the tar stream is malformed at byte ${offset}: ${what}`, { code: ExitCode.INTEGRITY, hint: 'the base backup is damaged or was not written by pg_basebackup -Ft' });
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? length : nul).toString('utf8');
}

function octal(block: Buffer, start: number, length: number, what: string, offset: number): number {
  // GNU's base-256 form for sizes of 8 GB and more (PostgreSQL's tar.c writes it too)
  if (block[start] & 0x80) {
    let n = 0;
    for (let i = start + 1; i < start + length; i += 1) n = n * 256 + block[i];
    return n;
  }
  const text = field(block, start, length).trim();
  if (!/^[0-7]*$/.test(text)) throw malformed(`the ${what} field is not octal`, offset);
  return text === '' ? 0 : parseInt(text, 8);
}

// The sum of the header's bytes with its checksum field counted as spaces, as tar computes it.
function checksumOf(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i += 1) sum += i >= 148 && i < 156 ? 32 : block[i];
  return sum;
}

export class TarParser {
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private current: TarEntry | undefined;
  private remaining = 0;
  private padding = 0;
  private zeroBlocks = 0;
  private offset = 0;
  /** bytes of the archive pushed so far */
  get bytes(): number {
    return this.offset;
  }
  /** true once the end-of-archive marker (two zero blocks) was read */
  get ended(): boolean {
    return this.zeroBlocks >= 2;
  }

  constructor(private readonly handlers: TarHandlers) {}

  // Parses the next piece of the archive.
  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.current) {
        const n = Math.min(this.remaining, chunk.length - pos);
        if (n > 0) this.handlers.data?.(this.current, chunk.subarray(pos, pos + n));
        pos += n;
        this.remaining -= n;
        this.offset += n;
        if (this.remaining === 0) {
          const done = this.current;
          this.current = undefined;
          this.handlers.end?.(done);
        }
        continue;
      }
      if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - pos);
        // zeros, as tar writes them: a byte changed there is found like one changed anywhere else in the archive
        for (let i = pos; i < pos + n; i += 1) if (chunk[i] !== 0) throw malformed('the padding after a member holds a byte that is not zero', this.offset + i - pos);
        pos += n;
        this.padding -= n;
        this.offset += n;
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - pos);
      chunk.copy(this.header, this.headerFill, pos, pos + n);
      this.headerFill += n;
      pos += n;
      this.offset += n;
      if (this.headerFill === BLOCK) {
        this.headerFill = 0;
        this.readHeader(this.offset - BLOCK);
      }
    }
  }

  // Throws unless the archive ended properly: no member cut short, the end-of-archive marker read.
  finish(): void {
    if (this.current) throw malformed(`it ends inside ${this.current.name} (${this.remaining} bytes missing)`, this.offset);
    if (this.padding > 0 || this.headerFill > 0) throw malformed('it ends inside a block', this.offset);
    if (!this.ended) throw malformed('it ends without the end-of-archive marker', this.offset);
  }

  private readHeader(at: number): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      this.zeroBlocks += 1;
      return;
    }
    if (this.zeroBlocks > 0) throw malformed('a member follows a zero block', at);
    const stored = octal(h, 148, 8, 'checksum', at);
    if (stored !== checksumOf(h)) throw malformed('a header checksum does not match', at);
    const flag = String.fromCharCode(h[156] || 0x30);
    const types: Record<string, TarEntryType> = { '0': 'file', '7': 'file', '5': 'directory', '2': 'symlink' };
    const type = types[flag];
    if (!type) throw malformed(`member type "${flag}" is not one pg_basebackup writes`, at);
    const prefix = field(h, 345, 155);
    const base = field(h, 0, 100);
    const name = prefix ? `${prefix}/${base}` : base;
    const size = type === 'file' ? octal(h, 124, 12, 'size', at) : 0;
    const entry: TarEntry = { name, type, mode: octal(h, 100, 8, 'mode', at) & 0o7777, size, linkName: field(h, 157, 100), mtime: octal(h, 136, 12, 'mtime', at) };
    this.handlers.entry?.(entry);
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) {
      this.handlers.end?.(entry);
      return;
    }
    this.current = entry;
    this.remaining = size;
  }
}
