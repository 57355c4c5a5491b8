import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { compressionText, compressStream, decompressStream, methodOf, parseCompression, zlibHasZstd, zstdCompressor, zstdDecompressor, type ZstdEngine } from '../../../lib/tar/compression.ts';
import { childrenOf } from '../../support/process.ts';
import { waitFor } from '../../support/process.ts';

// Compressible data the size of a few base backup chunks, with a random part so that nothing compresses to nothing.
const DATA = Buffer.concat([Buffer.alloc(3 * 1024 * 1024, 'pgops base backup '), randomBytes(256 * 1024)]);

async function roundTrip(text: string, by: { compress?: ZstdEngine; decompress?: ZstdEngine } = {}): Promise<{ compressed: Buffer; back: Buffer }> {
  const spec = parseCompression(text);
  const c = compressStream(spec, by.compress)!;
  const compressed = await buffer(Readable.from([DATA]).pipe(c));
  const d = decompressStream(spec.method, by.decompress)!;
  const back = await buffer(Readable.from([compressed]).pipe(d));
  return { compressed, back };
}

// Runs fn with PATH set to path, and puts PATH back.
async function withPath<T>(path: string, fn: () => T | Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

describe('base backup compression', () => {
  it('reads --compress as a method with a level, the defaults favouring speed', () => {
    expect(parseCompression(undefined)).toEqual({ method: 'none' });
    expect(parseCompression('none')).toEqual({ method: 'none' });
    expect(parseCompression('gzip')).toEqual({ method: 'gzip', level: 1 });
    expect(parseCompression('lz4')).toEqual({ method: 'lz4', level: 1 });
    expect(parseCompression('zstd')).toEqual({ method: 'zstd', level: 3 });
    expect(parseCompression('zstd:19')).toEqual({ method: 'zstd', level: 19 });
    expect(compressionText(parseCompression('gzip:9'))).toBe('gzip:9');
    expect(compressionText(parseCompression('none'))).toBe('none');
    expect(methodOf('zstd:3')).toBe('zstd');
  });

  it('refuses unknown methods and levels out of range, naming the range (exit 3)', () => {
    expect(() => parseCompression('brotli')).toThrow(/invalid --compress "brotli" for a base backup: expected none, gzip, lz4 or zstd/);
    expect(() => parseCompression('gzip:0')).toThrow(/gzip levels go from 1 to 9/);
    expect(() => parseCompression('zstd:20')).toThrow(/zstd levels go from 1 to 19/);
    expect(() => parseCompression('gzip:')).toThrow(/invalid --compress/);
    try {
      parseCompression('xz');
    } catch (err) {
      expect((err as { code: number }).code).toBe(3);
    }
  });

  it('has no stream for none', () => {
    expect(compressStream({ method: 'none' })).toBeUndefined();
    expect(decompressStream('none')).toBeUndefined();
  });

  it.each(['gzip', 'gzip:6', 'lz4', 'zstd', 'zstd:9'])('gives back exactly what %s compressed, smaller', async (text) => {
    const { compressed, back } = await roundTrip(text);
    expect(compressed.length).toBeLessThan(DATA.length / 2);
    expect(back.equals(DATA)).toBe(true);
  });

  it.each(['lz4', 'zstd'])('stops the %s program when the stream is destroyed (a failed upload)', async (method) => {
    const c = compressStream(parseCompression(method), 'program')!;
    // the program runs once the stream is in use
    c.write(DATA.subarray(0, 1024));
    await waitFor(`${method} to start`, () => childrenOf(process.pid).some((p) => p.comm === method));
    const failed = new Promise<Error>((resolve) => c.on('error', resolve));
    c.destroy(new Error('the upload failed'));
    expect((await failed).message).toContain('the upload failed');
    await waitFor(`${method} to end`, () => !childrenOf(process.pid).some((p) => p.comm === method), 10_000);
  });

  it('says which program to install when lz4 is missing, through the stream as a failing program would', async () => {
    const failure = await withPath('/nonexistent', () => pipeline(Readable.from([DATA]), compressStream(parseCompression('lz4'))!, async function* (src) {
      for await (const _ of src) yield _;
    }).then(() => undefined, (err: unknown) => err as { message: string; hint?: string; code?: number }));
    expect(failure).toMatchObject({ message: 'the lz4 program is not installed (not found on PATH)', hint: 'install it (Debian/Ubuntu: apt-get install lz4)', code: 3 });
  });

  it('decompresses zstd in-process where Node has zstd, and compresses with the program where it is installed', async () => {
    expect(zstdDecompressor()).toBe(zlibHasZstd ? 'zlib' : 'program');
    expect(zstdCompressor()).toBe('program');
    // without the program: zlib where it can, else the program, whose stream then says what to install
    expect(await withPath('/nonexistent', zstdCompressor)).toBe(zlibHasZstd ? 'zlib' : 'program');
  });

  describe.skipIf(!zlibHasZstd)("zlib's zstd (Node >= 22.15)", () => {
    it.each<[ZstdEngine, ZstdEngine]>([['zlib', 'zlib'], ['zlib', 'program'], ['program', 'zlib']])('gives back exactly what it compressed: compressed by %s, decompressed by %s', async (compress, decompress) => {
      const { compressed, back } = await roundTrip('zstd:3', { compress, decompress });
      expect(compressed.length).toBeLessThan(DATA.length / 2);
      expect(back.equals(DATA)).toBe(true);
    });

    it('writes a content checksum as the program does, so a damaged object fails to decompress', async () => {
      const ofZlib = (await roundTrip('zstd:3', { compress: 'zlib' })).compressed;
      const ofProgram = (await roundTrip('zstd:3', { compress: 'program' })).compressed;
      // a frame's magic number, then its header descriptor, whose bit 2 is Content_Checksum_flag (RFC 8878)
      for (const frame of [ofZlib, ofProgram]) {
        expect(frame.readUInt32LE(0)).toBe(0xfd2fb528);
        expect(frame[4] & 0b100).toBe(0b100);
      }
      const damaged = Buffer.from(ofZlib);
      damaged[damaged.length - 2] ^= 0xff;
      await expect(buffer(Readable.from([damaged]).pipe(decompressStream('zstd', 'zlib')!))).rejects.toThrow();
    });
  });

  it('fails the stream when the input is not what the decompressor reads', async () => {
    await expect(pipeline(Readable.from([Buffer.from('not gzip at all')]), decompressStream('gzip')!, async function* (src) {
      for await (const _ of src) yield _;
    })).rejects.toThrow(/incorrect header check/);
  });
});
