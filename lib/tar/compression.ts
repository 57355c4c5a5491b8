import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { execa } from 'execa';
import { usageError } from '../errors.ts';

// How a base backup's tar stream is compressed on its way into the repository, and decompressed on its way out:
// gzip in-process (zlib), lz4 and zstd through their command-line programs (zstd on all cores), which the apt
// packages lz4 and zstd install.
export type CompressionMethod = 'none' | 'gzip' | 'lz4' | 'zstd';

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

// A program's stdin and stdout as one stream. Its failure (or its death when the stream is destroyed: a failed
// upload) errors the stream; the subprocess's own promise is left unobserved on purpose, and must not reject unhandled.
function programStream(file: string, args: string[]): Duplex {
  const child = execa(file, args, { buffer: false, stderr: 'ignore' });
  child.catch(() => {});
  return child.duplex();
}

// A stream that compresses what passes through it, or undefined for none.
export function compressStream(spec: CompressionSpec): Duplex | undefined {
  switch (spec.method) {
    case 'none':
      return undefined;
    case 'gzip':
      return zlib.createGzip({ level: spec.level });
    case 'lz4':
      return programStream('lz4', [`-${spec.level}`, '-c', '-']);
    case 'zstd':
      return programStream('zstd', [`-${spec.level}`, '-T0', '-q', '-c', '-']);
  }
}

// A stream that decompresses what a compressStream of this method made, or undefined for none.
export function decompressStream(method: CompressionMethod): Duplex | undefined {
  switch (method) {
    case 'none':
      return undefined;
    case 'gzip':
      return zlib.createGunzip();
    case 'lz4':
      return programStream('lz4', ['-d', '-c', '-']);
    case 'zstd':
      return programStream('zstd', ['-d', '-q', '-c', '-']);
  }
}

// The method a manifest's compression text names.
export function methodOf(compression: string): CompressionMethod {
  return parseCompression(compression, 'the manifest\'s compression').method;
}
