import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { execa } from 'execa';
import { ExitCode, PgopsError, usageError } from '../errors.ts';

// How a base backup's tar stream is compressed on its way into the repository, and decompressed on its way out:
// gzip in-process (zlib), lz4 through its command-line program (the apt package lz4), zstd through its program (the
// apt package zstd) or in-process where Node's zlib has zstd (Node >= 22.15 and 23.8). Either writes standard zstd
// frames with a content checksum, which either reads, as do `zstd -d` and `tar --zstd`.
export type CompressionMethod = 'none' | 'gzip' | 'lz4' | 'zstd';

// Who does zstd's work: the zstd program, or Node's zlib.
export type ZstdEngine = 'program' | 'zlib';

// zlib's zstd streams, which @types/node 20 does not declare
interface ZlibZstd {
  createZstdCompress(options: { params: Record<number, number>; chunkSize: number }): Duplex;
  createZstdDecompress(options: { chunkSize: number }): Duplex;
}
const zstdZlib: Partial<ZlibZstd> = zlib as unknown as Partial<ZlibZstd>;

// Whether this Node's zlib has zstd.
export const zlibHasZstd = typeof zstdZlib.createZstdCompress === 'function' && typeof zstdZlib.createZstdDecompress === 'function';

// zlib's default 16 kB output chunks made decompressing twice as slow: 400 MB of a data directory's tar took 1.8-2.1 s,
// with 1 MB chunks 0.7-0.9 s (Node 24.22)
const ZLIB_CHUNK = 1024 * 1024;

export interface CompressionSpec {
  method: CompressionMethod;
  level?: number;
}

const LEVELS: Record<Exclude<CompressionMethod, 'none'>, [number, number, number]> = {
  // [lowest, highest, default]: the defaults favour speed, as a base backup of a large cluster must
  gzip: [1, 9, 1],
  lz4: [1, 12, 1],
  zstd: [1, 19, 3],
};

// --compress's value for a base backup: none, gzip, lz4 or zstd, with an optional :LEVEL (or :level=N); a bare
// number is a gzip level (0: none), as pg_dump and pg_basebackup read it, so one config default serves backup and
// basebackup alike.
export function parseCompression(text: string | undefined, origin = '--compress'): CompressionSpec {
  if (text === undefined || text === '' || text === 'none' || text === '0') return { method: 'none' };
  if (/^\d+$/.test(text)) text = `gzip:${text}`;
  const m = /^(gzip|lz4|zstd)(?::(?:level=)?(\d+))?$/.exec(text);
  if (!m) throw usageError(`invalid ${origin} "${text}" for a base backup: expected none, gzip, lz4 or zstd, with an optional :LEVEL`, 'gzip:1 is fast and everywhere; zstd compresses better at the same speed');
  const method = m[1] as Exclude<CompressionMethod, 'none'>;
  const [lo, hi, dflt] = LEVELS[method];
  const level = m[2] === undefined ? dflt : Number(m[2]);
  if (level < lo || level > hi) throw usageError(`invalid ${origin} "${text}": ${method} levels go from ${lo} to ${hi}`);
  return { method, level };
}

// The spec as the manifest records it: none, gzip:1, zstd:3.
export function compressionText(spec: CompressionSpec): string {
  return spec.method === 'none' ? 'none' : `${spec.method}:${spec.level}`;
}

// Whether a program is on PATH.
function onPath(file: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir || '.', file), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// A program's stdin and stdout as one stream. Its failure (or its death when the stream is destroyed: a failed
// upload) errors the stream; the subprocess's own promise is left unobserved on purpose, and must not reject unhandled.
// A program that is not installed errors the stream too, with what to install: the caller has started
// pg_basebackup already, and its stream's failure is what stops it.
function programStream(file: string, args: string[]): Duplex {
  if (!onPath(file)) {
    const missing = new PassThrough();
    const hint = file === 'zstd' ? 'install it (Debian/Ubuntu: apt-get install zstd), or run pgops on Node 22.15 or later, which does zstd itself' : `install it (Debian/Ubuntu: apt-get install ${file})`;
    process.nextTick(() => missing.destroy(new PgopsError(`the ${file} program is not installed (not found on PATH)`, { code: ExitCode.UNKNOWN, hint })));
    return missing;
  }
  const child = execa(file, args, { buffer: false, stderr: 'ignore' });
  child.catch(() => {});
  return child.duplex();
}

// Which engine compresses zstd: the program where it is installed, as it compresses on every core (-T0): 400 MB of a
// data directory's tar took it 1.4-2.0 s on 2 cores, zlib's one thread 2.6-3.8 s (Node 24.22). zlib where it is not.
export function zstdCompressor(): ZstdEngine {
  return zlibHasZstd && !onPath('zstd') ? 'zlib' : 'program';
}

// Which engine decompresses zstd: zlib where Node has it (0.7-0.9 s for those 400 MB, the program 0.55-0.8 s, on one
// core as well): no process, and a restore host needs no zstd program. The program on older Node.
export function zstdDecompressor(): ZstdEngine {
  return zlibHasZstd ? 'zlib' : 'program';
}

// zstd at a level, with the content checksum the zstd program writes by default: a damaged object fails to decompress.
function zlibZstdCompress(level: number): Duplex {
  const c = zlib.constants as unknown as Record<string, number>;
  return zstdZlib.createZstdCompress!({ params: { [c.ZSTD_c_compressionLevel]: level, [c.ZSTD_c_checksumFlag]: 1 }, chunkSize: ZLIB_CHUNK });
}

// A stream that compresses what passes through it, or undefined for none; zstd by the engine given, else the faster
// one here.
export function compressStream(spec: CompressionSpec, zstd?: ZstdEngine): Duplex | undefined {
  switch (spec.method) {
    case 'none':
      return undefined;
    case 'gzip':
      return zlib.createGzip({ level: spec.level });
    case 'lz4':
      return programStream('lz4', [`-${spec.level}`, '-c', '-']);
    case 'zstd':
      return (zstd ?? zstdCompressor()) === 'zlib' ? zlibZstdCompress(spec.level ?? LEVELS.zstd[2]) : programStream('zstd', [`-${spec.level}`, '-T0', '-q', '-c', '-']);
  }
}

// A stream that decompresses what a compressStream of this method made, or undefined for none; zstd by the engine
// given, else zlib where Node has it.
export function decompressStream(method: CompressionMethod, zstd?: ZstdEngine): Duplex | undefined {
  switch (method) {
    case 'none':
      return undefined;
    case 'gzip':
      return zlib.createGunzip();
    case 'lz4':
      return programStream('lz4', ['-d', '-c', '-']);
    case 'zstd':
      return (zstd ?? zstdDecompressor()) === 'zlib' ? zstdZlib.createZstdDecompress!({ chunkSize: ZLIB_CHUNK }) : programStream('zstd', ['-d', '-q', '-c', '-']);
  }
}

// The method a manifest's compression text names.
export function methodOf(compression: string): CompressionMethod {
  return parseCompression(compression, 'the manifest\'s compression').method;
}
