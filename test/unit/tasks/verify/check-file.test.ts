import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileRepo } from '../../../../lib/repo/file.ts';
import { checkObject, type Expected } from '../../../../lib/tasks/verify/check-file.ts';
import { forEachLimit } from '../../../../lib/tasks/verify/checks.ts';

// One stored file streamed through its hash, against what a manifest or sidecar lists (a temp folder as the repository).
let root: string;
let repo: FileRepo;
const content = Buffer.from('WAL '.repeat(50_000));
const listed: Expected = { size: content.length, sha256: createHash('sha256').update(content).digest('hex') };

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-verify-unit-'));
  repo = new FileRepo(root);
  fs.writeFileSync(path.join(root, 'raw'), content);
  fs.writeFileSync(path.join(root, 'raw.gz'), gzipSync(content));
  fs.writeFileSync(path.join(root, 'raw.br'), brotliCompressSync(content));
  const other = Buffer.from(content);
  other[7] ^= 1;
  fs.writeFileSync(path.join(root, 'other.gz'), gzipSync(other));
  const broken = gzipSync(content);
  broken[broken.length >> 1] ^= 0xff;
  fs.writeFileSync(path.join(root, 'broken.gz'), broken);
  fs.writeFileSync(path.join(root, 'short'), content.subarray(0, 100));
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('checkObject', () => {
  it('matches a plain file, and a compressed one by the sha256 of its uncompressed content', async () => {
    expect(await checkObject(repo, 'raw', listed, 'none')).toEqual({ status: 'ok' });
    expect(await checkObject(repo, 'raw.gz', listed, 'gzip')).toEqual({ status: 'ok' });
    expect(await checkObject(repo, 'raw.br', listed, 'brotli')).toEqual({ status: 'ok' });
    // the compressed bytes themselves are not what the sidecar lists
    expect(await checkObject(repo, 'raw.gz', listed, 'none')).toMatchObject({ status: 'damaged' });
  });

  it('names what differs: the sha256, the size, or a stream that does not decompress', async () => {
    expect(await checkObject(repo, 'other.gz', listed, 'gzip')).toEqual({ status: 'damaged', detail: expect.stringMatching(new RegExp(`^sha256 [0-9a-f]{64} decompressed differs from the listed ${listed.sha256}$`)) });
    expect(await checkObject(repo, 'short', listed, 'none')).toEqual({ status: 'damaged', detail: `holds 100 bytes, ${listed.size} listed` });
    expect(await checkObject(repo, 'broken.gz', listed, 'gzip')).toEqual({ status: 'damaged', detail: expect.stringMatching(/^does not decompress \(gzip\): /) });
  });

  it('tells a missing file from an unreadable one', async () => {
    expect(await checkObject(repo, 'nothing', listed, 'none')).toEqual({ status: 'missing' });
    // a folder where the file should be: it opens, and reading it fails (EISDIR), even for root
    fs.mkdirSync(path.join(root, 'folder'));
    expect(await checkObject(repo, 'folder', listed, 'none')).toEqual({ status: 'unreadable', detail: expect.stringMatching(/EISDIR|directory/i) });
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(checkObject(repo, 'raw', listed, 'none', controller.signal)).rejects.toThrow();
  });
});

describe('forEachLimit', () => {
  it('runs every item, never more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachLimit(Array.from({ length: 20 }, (_, i) => i), 3, async (i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      seen.push(i);
      running--;
    });
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(most).toBe(3);
  });
});
