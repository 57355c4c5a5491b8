import { describe, expect, it } from 'vitest';
import { TarParser, type TarEntry } from '../../../lib/tar/parse.ts';

// Archives written here the way PostgreSQL's src/port/tar.c writes them (ustar headers, octal fields, the prefix
// field for long names, base-256 sizes from 8 GB on), pushed to the parser in pieces of every size.

interface Member {
  name: string;
  type?: '0' | '5' | '2' | 'x';
  data?: Buffer;
  /** a size to write in the header instead of data's (base-256 when huge) */
  size?: number;
  link?: string;
  mode?: number;
}

function header(m: Member): Buffer {
  const h = Buffer.alloc(512);
  const put = (text: string, at: number, len: number) => h.write(text, at, len, 'utf8');
  const octal = (n: number, at: number, len: number) => put(n.toString(8).padStart(len - 1, '0') + '\0', at, len);
  let name = m.name;
  if (Buffer.byteLength(name) > 99) {
    const cut = name.lastIndexOf('/', 154);
    put(name.slice(0, cut), 345, 155);
    name = name.slice(cut + 1);
  }
  put(name, 0, 100);
  octal(m.mode ?? 0o600, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  const size = m.size ?? m.data?.length ?? 0;
  if (size >= 8 ** 11) {
    h[124] = 0x80;
    let n = BigInt(size);
    for (let i = 135; i > 124; i -= 1) {
      h[i] = Number(n & 0xffn);
      n >>= 8n;
    }
  } else octal(size, 124, 12);
  octal(1_764_000_000, 136, 12);
  h.write(m.type ?? '0', 156, 1, 'latin1');
  put(m.link ?? '', 157, 100);
  put('ustar', 257, 6);
  put('00', 263, 2);
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

function tar(members: Member[], { end = true } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    parts.push(header(m));
    if (m.data?.length) parts.push(m.data, Buffer.alloc((512 - (m.data.length % 512)) % 512));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// Parses an archive pushed in pieces of `step` bytes; returns what the handlers saw.
function parse(archive: Buffer, step = archive.length): { entries: TarEntry[]; data: Map<string, Buffer>; ended: string[]; parser: TarParser } {
  const entries: TarEntry[] = [];
  const chunks = new Map<string, Buffer[]>();
  const ended: string[] = [];
  const parser = new TarParser({
    entry: (e) => {
      entries.push(e);
      chunks.set(e.name, []);
    },
    data: (e, c) => chunks.get(e.name)!.push(Buffer.from(c)),
    end: (e) => ended.push(e.name),
  });
  for (let at = 0; at < archive.length; at += step) parser.push(archive.subarray(at, at + step));
  return { entries, data: new Map([...chunks].map(([k, v]) => [k, Buffer.concat(v)])), ended, parser };
}

const LABEL = Buffer.from('START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n');
const BIG = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
const MEMBERS: Member[] = [
  { name: 'backup_label', data: LABEL },
  { name: 'tablespace_map', data: Buffer.alloc(0) },
  { name: 'pg_wal/', type: '5', mode: 0o700 },
  { name: 'base/1/1259', data: BIG },
  { name: 'pg_tblspc/16384', type: '2', link: '/srv/space' },
  { name: `base/16384/${'d'.repeat(60)}/${'f'.repeat(80)}`, data: Buffer.from('long name') },
  { name: 'global/pg_control', data: Buffer.alloc(8192, 7) },
];

describe('the tar parser', () => {
  it.each([1, 7, 511, 512, 513, 4096, 65_536, 10_000_000])('reads every member, with its data, pushed %i bytes at a time', (step) => {
    const archive = tar(MEMBERS);
    const { entries, data, ended, parser } = parse(archive, step);
    expect(entries.map((e) => [e.name, e.type, e.size])).toEqual([
      ['backup_label', 'file', LABEL.length],
      ['tablespace_map', 'file', 0],
      ['pg_wal/', 'directory', 0],
      ['base/1/1259', 'file', BIG.length],
      ['pg_tblspc/16384', 'symlink', 0],
      [MEMBERS[5].name, 'file', 9],
      ['global/pg_control', 'file', 8192],
    ]);
    expect(ended).toEqual(entries.map((e) => e.name));
    expect(data.get('backup_label')).toEqual(LABEL);
    expect(data.get('base/1/1259')!.equals(BIG)).toBe(true);
    expect(data.get('global/pg_control')).toEqual(Buffer.alloc(8192, 7));
    expect(entries[2].mode).toBe(0o700);
    expect(entries[4].linkName).toBe('/srv/space');
    expect(entries[0].mtime).toBe(1_764_000_000);
    expect(parser.ended).toBe(true);
    expect(parser.bytes).toBe(archive.length);
    expect(() => parser.finish()).not.toThrow();
  });

  it('reads sizes of 8 GB and more in the base-256 form', () => {
    const size = 9 * 1024 ** 3;
    let seen: TarEntry | undefined;
    const q = new TarParser({ entry: (e) => (seen = e) });
    q.push(header({ name: 'base/1/huge', size }));
    expect(seen?.size).toBe(size);
    // the member is not over: the archive cannot end here
    expect(() => q.finish()).toThrow(/it ends inside base\/1\/huge \(9663676416 bytes missing\)/);
    expect(q.ended).toBe(false);
  });

  it('refuses an archive that ends inside a member, or without the end-of-archive marker', () => {
    const whole = tar(MEMBERS);
    const cut = parse(whole.subarray(0, 512 + 10));
    expect(() => cut.parser.finish()).toThrow(/the tar stream is malformed at byte 522: it ends inside backup_label \(\d+ bytes missing\)/);
    const noEnd = parse(tar(MEMBERS, { end: false }));
    expect(() => noEnd.parser.finish()).toThrow(/it ends without the end-of-archive marker/);
    const oneZero = parse(whole.subarray(0, whole.length - 512));
    expect(() => oneZero.parser.finish()).toThrow(/end-of-archive marker/);
  });

  it('refuses a damaged header, an unknown member type, and a member after the end marker (exit 6)', () => {
    const damaged = tar(MEMBERS);
    damaged[3] ^= 1;
    expect(() => parse(damaged)).toThrow(/at byte 0: a header checksum does not match/);
    try {
      parse(damaged);
    } catch (err) {
      expect((err as { code: number }).code).toBe(6);
    }
    expect(() => parse(tar([{ name: 'fifo', type: 'x' }]))).toThrow(/member type "x" is not one pg_basebackup writes/);
    const after = Buffer.concat([tar([MEMBERS[0]], { end: false }), Buffer.alloc(512), header({ name: 'late' })]);
    expect(() => parse(after)).toThrow(/a member follows a zero block/);
    const badOctal = header({ name: 'x', data: Buffer.from('y') });
    badOctal.write('9', 124, 1, 'latin1');
    // the checksum is recomputed so that only the size field is wrong
    badOctal.fill(32, 148, 156);
    let sum = 0;
    for (const b of badOctal) sum += b;
    badOctal.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
    expect(() => parse(badOctal)).toThrow(/the size field is not octal/);
  });

  it('checks every byte that is not a file\'s data: a byte changed in the padding after a member, in the end-of-archive blocks or after them, or an archive cut inside a block, is refused', () => {
    const whole = tar(MEMBERS);
    // the first member's data ends at 512 + its length; its padding runs to the next block
    const first = MEMBERS.find((m) => m.data && m.data.length % 512 !== 0)!;
    const at = MEMBERS.slice(0, MEMBERS.indexOf(first)).reduce((n, m) => n + 512 + Math.ceil((m.data?.length ?? 0) / 512) * 512, 0) + 512 + first.data!.length;
    for (const step of [1, 7, whole.length]) {
      const padded = Buffer.from(whole);
      padded[at + 3] = 1;
      expect(() => parse(padded, step)).toThrow(new RegExp(`at byte ${at + 3}: the padding after a member holds a byte that is not zero`));
    }
    for (const offset of [whole.length - 700, whole.length - 1]) {
      const end = Buffer.from(whole);
      end[offset] = 1;
      expect(() => parse(end).parser.finish()).toThrow(/malformed/);
    }
    const trailing = parse(Buffer.concat([whole, Buffer.alloc(100)]));
    expect(() => trailing.parser.finish()).toThrow(/it ends inside a block/);
    expect(() => parse(Buffer.concat([whole, Buffer.alloc(512)])).parser.finish()).not.toThrow();
  });
});
