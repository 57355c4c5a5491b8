import { createHash } from 'node:crypto';
import { Transform, Writable, type TransformCallback } from 'node:stream';

// A pass-through stream that computes sha256 and the byte count of what flows through it.
export class HashCounter extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly onProgress?: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    done(null, chunk);
  }

  /** the hex digest; call once, after the stream ended */
  digest(): string {
    return this.hash.digest('hex');
  }
}

// sha256 and size of a whole stream, reading it to the end.
export async function hashStream(stream: NodeJS.ReadableStream): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

// A sink that drops what it is given: for streams read only to be hashed (HashCounter before it).
export function discardSink(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}
