import type { Transform } from 'node:stream';
import type { Compression } from '../../repo/layout.ts';

// Fast settings on purpose: archive_command runs once per segment and must keep up with the server. On WAL, gzip level 1
// and brotli quality 1 compress within a few per cent of their default levels at a fraction of the time (bench:wal).
const GZIP_LEVEL = 1;
const BROTLI_QUALITY = 1;

// A compressing stream for the data object, or undefined for none (zlib loads only when needed).
export async function compressor(c: Compression, sizeHint: number): Promise<Transform | undefined> {
  if (c === 'none') return undefined;
  const zlib = await import('node:zlib');
  if (c === 'gzip') return zlib.createGzip({ level: GZIP_LEVEL });
  return zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: sizeHint } });
}

// The stream that undoes compressor(c), or undefined for none.
export async function decompressor(c: Compression): Promise<Transform | undefined> {
  if (c === 'none') return undefined;
  const zlib = await import('node:zlib');
  return c === 'gzip' ? zlib.createGunzip() : zlib.createBrotliDecompress();
}
