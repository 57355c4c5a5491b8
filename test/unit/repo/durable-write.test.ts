import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PgopsError } from '../../../lib/errors.ts';
import { writeDurably, writeFileAndMarker } from '../../../lib/repo/durable-write.ts';
import type { FsErrorContext } from '../../../lib/repo/fs-errors.ts';
import { isTempKey } from '../../../lib/repo/layout.ts';
import type { Digest } from '../../../lib/repo/open-file.ts';
import { mountSmallDisk, unmountSmallDisk } from '../../support/tmpfs.ts';

// The failure paths of the one durable write (lib/repo/durable-write.ts) that wal push, wal fetch and the file
// repository share, on real file systems: a tiny tmpfs for a full disk, a read-only remount, a folder in the way.
// Each case asserts what an operator and PostgreSQL see: the error names the cause and the final path with a hint,
// no temp file is left, nothing half-written is visible under the final name, an existing file stays as it was.

const MB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const writing = (p: string, disk?: string): FsErrorContext => ({ action: 'writing', path: p, disk });

let dir: string;
let point: string | undefined;
let skipped = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-durable-'));
  ({ point, skipped } = mountSmallDisk(os.tmpdir(), '1m', 'the full and read-only disk cases'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  unmountSmallDisk({ point, skipped });
});

afterEach(() => {
  if (!point) return;
  execFileSync('mount', ['-o', 'remount,rw', point]);
  for (const name of fs.readdirSync(point)) fs.rmSync(path.join(point, name), { recursive: true, force: true });
});

// What a folder holds, temp files included: nothing else may appear after a failed write.
const names = (folder: string) => fs.readdirSync(folder).sort();
const temps = (folder: string) => names(folder).filter((n) => isTempKey(n));

// An open file of `size` random bytes, as wal push holds the segment it archives.
async function sourceOf(size: number): Promise<{ handle: fsp.FileHandle; path: string; data: Buffer }> {
  const data = randomBytes(size);
  const file = path.join(dir, `source-${randomBytes(4).toString('hex')}`);
  fs.writeFileSync(file, data);
  return { handle: await fsp.open(file, 'r'), path: file, data };
}

async function rejection(p: Promise<unknown>): Promise<PgopsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PgopsError);
  return err as PgopsError;
}

describe('writeDurably', () => {
  const fillWith = (data: Buffer) => (out: NodeJS.WritableStream) => pipeline(Readable.from([data]), out);

  it('puts the file in place whole, replacing an older one unless told never to', async () => {
    const target = path.join(dir, 'replace');
    fs.writeFileSync(target, 'old');
    expect(await writeDurably(target, fillWith(Buffer.from('new')), { where: writing(target) })).toBe(true);
    expect(fs.readFileSync(target, 'utf8')).toBe('new');
    expect(await writeDurably(target, fillWith(Buffer.from('newer')), { where: writing(target), exclusive: true })).toBe(false);
    expect(fs.readFileSync(target, 'utf8')).toBe('new');
    expect(temps(dir)).toEqual([]);
  });

  it('on a full disk: "no space left" naming the final path, no temp file, and the existing file as it was', async ({ skip }) => {
    if (!point) return skip(skipped);
    const target = path.join(point, '000000010000000000000003');
    fs.writeFileSync(target, 'the file PostgreSQL had');
    for (const exclusive of [false, true]) {
      const err = await rejection(writeDurably(target, fillWith(randomBytes(2 * MB)), { where: writing(target, 'the disk of the destination'), exclusive }));
      expect(err.message).toBe(`no space left on the disk of the destination (${target})`);
      expect(err.hint).toMatch(/^free space on it/);
      expect(names(point)).toEqual(['000000010000000000000003']);
      expect(fs.readFileSync(target, 'utf8')).toBe('the file PostgreSQL had');
    }
  });

  it('on a read-only file system: names it, and writes nothing', async ({ skip }) => {
    if (!point) return skip(skipped);
    execFileSync('mount', ['-o', 'remount,ro', point]);
    const target = path.join(point, 'RECOVERYXLOG');
    const err = await rejection(writeDurably(target, fillWith(Buffer.from('x')), { where: writing(target, 'the disk of the destination') }));
    expect(err.message).toBe(`cannot write ${target}: its file system is read-only`);
    expect(err.hint).toMatch(/^remount it read-write/);
    expect(names(point)).toEqual([]);
  });

  it('onto a folder standing at the final name: says so, and leaves the folder and no temp file', async () => {
    const target = path.join(dir, 'a-folder');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside'), 'kept');
    const err = await rejection(writeDurably(target, fillWith(Buffer.from('x')), { where: writing(target, 'the disk of the destination') }));
    expect(err.message).toBe(`cannot write ${target}: it is a folder, not a file`);
    expect(err.hint).toContain(`move ${target} aside`);
    expect(names(target)).toEqual(['inside']);
    expect(temps(dir)).toEqual([]);
  });

  it("passes the source's own failure on as it is, and leaves no temp file", async () => {
    const target = path.join(dir, 'broken-source');
    const broken = new PgopsError('the archived copy does not match its sidecar', { code: 6 });
    const fill = async (out: NodeJS.WritableStream) => {
      out.write('half of it');
      throw broken;
    };
    await expect(writeDurably(target, fill, { where: writing(target) })).rejects.toBe(broken);
    expect(fs.existsSync(target)).toBe(false);
    expect(temps(dir)).toEqual([]);
  });

  it('removes its temp file when aborted mid-write', async () => {
    const target = path.join(dir, 'aborted');
    const ac = new AbortController();
    const fill = async (out: NodeJS.WritableStream) => {
      out.write('some');
      ac.abort();
      await pipeline(Readable.from([Buffer.from('more')]), out, { signal: ac.signal });
    };
    await expect(writeDurably(target, fill, { where: writing(target), signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(fs.existsSync(target)).toBe(false);
    expect(temps(dir)).toEqual([]);
  });
});

describe('writeFileAndMarker (wal push into a file repository)', () => {
  const markerOf = (copied: Digest) => JSON.stringify(copied);
  const accept = async () => {};

  it('publishes the copy and then its marker, made from the copy', async () => {
    const folder = path.join(dir, 'published');
    const src = await sourceOf(3 * MB + 17);
    try {
      const done = await writeFileAndMarker(src, path.join(folder, 'seg'), { path: path.join(folder, 'seg.json'), text: markerOf }, { onTargetExists: accept });
      expect(done).toEqual({ copied: { size: src.data.length, sha256: sha256(src.data) }, targetExisted: false, markerExisted: false });
      expect(names(folder)).toEqual(['seg', 'seg.json']);
      expect(sha256(fs.readFileSync(path.join(folder, 'seg')))).toBe(sha256(src.data));
      expect(JSON.parse(fs.readFileSync(path.join(folder, 'seg.json'), 'utf8'))).toEqual(done.copied);
    } finally {
      await src.handle.close();
    }
  });

  it('on a full disk: "no space left on the repository\'s disk" naming the data object, and neither file nor temp left', async ({ skip }) => {
    if (!point) return skip(skipped);
    const folder = path.join(point, 'wal', '7');
    const src = await sourceOf(2 * MB);
    try {
      const err = await rejection(writeFileAndMarker(src, path.join(folder, 'seg'), { path: path.join(folder, 'seg.json'), text: markerOf }, { onTargetExists: accept }));
      expect(err.message).toBe(`no space left on the repository's disk (${folder}/seg)`);
      expect(err.hint).toContain('nothing was published');
      expect(names(folder)).toEqual([]);
    } finally {
      await src.handle.close();
    }
  });

  it('on a read-only file system: names it, and writes nothing', async ({ skip }) => {
    if (!point) return skip(skipped);
    fs.mkdirSync(path.join(point, 'wal'));
    execFileSync('mount', ['-o', 'remount,ro', point]);
    const src = await sourceOf(1000);
    try {
      const target = path.join(point, 'wal', 'seg');
      const err = await rejection(writeFileAndMarker(src, target, { path: `${target}.json`, text: markerOf }, { onTargetExists: accept }));
      expect(err.message).toBe(`cannot write ${target}: its file system is read-only`);
      expect(names(path.join(point, 'wal'))).toEqual([]);
    } finally {
      await src.handle.close();
    }
  });

  it('refused by onTargetExists: the file there and no marker, nothing of this copy', async () => {
    const folder = path.join(dir, 'taken');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'seg'), 'another file');
    const src = await sourceOf(1.5 * MB);
    const refusal = new PgopsError('seg is already stored with other content: nothing was overwritten', { code: 2 });
    let seen: Digest | undefined;
    try {
      const publish = writeFileAndMarker(src, path.join(folder, 'seg'), { path: path.join(folder, 'seg.json'), text: markerOf }, {
        onTargetExists: async (copied) => {
          seen = copied;
          throw refusal;
        },
      });
      await expect(publish).rejects.toBe(refusal);
      // the copy's hash is handed over, so that the caller need not read the file again to compare
      expect(seen).toEqual({ size: src.data.length, sha256: sha256(src.data) });
      expect(names(folder)).toEqual(['seg']);
      expect(fs.readFileSync(path.join(folder, 'seg'), 'utf8')).toBe('another file');
    } finally {
      await src.handle.close();
    }
  });

  it('accepted by onTargetExists: the marker beside the file there; a marker there already is left as it was', async () => {
    const folder = path.join(dir, 'raced');
    const src = await sourceOf(4096);
    try {
      fs.mkdirSync(folder);
      fs.writeFileSync(path.join(folder, 'seg'), src.data);
      const first = await writeFileAndMarker(src, path.join(folder, 'seg'), { path: path.join(folder, 'seg.json'), text: markerOf }, { onTargetExists: accept });
      expect(first).toMatchObject({ targetExisted: true, markerExisted: false });
      fs.writeFileSync(path.join(folder, 'seg.json'), 'the winner’s marker');
      fs.rmSync(path.join(folder, 'seg'));
      const second = await writeFileAndMarker(src, path.join(folder, 'seg'), { path: path.join(folder, 'seg.json'), text: markerOf }, { onTargetExists: accept });
      expect(second).toMatchObject({ targetExisted: false, markerExisted: true });
      expect(fs.readFileSync(path.join(folder, 'seg.json'), 'utf8')).toBe('the winner’s marker');
      expect(names(folder)).toEqual(['seg', 'seg.json']);
    } finally {
      await src.handle.close();
    }
  });

  it('refused by the marker text (the file changed while it was copied): nothing published', async () => {
    const folder = path.join(dir, 'changed');
    const src = await sourceOf(2 * MB);
    const changed = new PgopsError('seg changed while it was archived', { code: 2 });
    try {
      const publish = writeFileAndMarker(src, path.join(folder, 'seg'), {
        path: path.join(folder, 'seg.json'),
        text: () => {
          throw changed;
        },
      }, { onTargetExists: accept });
      await expect(publish).rejects.toBe(changed);
      expect(names(folder)).toEqual([]);
    } finally {
      await src.handle.close();
    }
  });

  it('a source that cannot be read is named as the source, on its own disk, not the repository', async () => {
    const folder = path.join(dir, 'unreadable');
    const src = await sourceOf(10);
    await src.handle.close();
    const err = await rejection(writeFileAndMarker({ ...src, disk: 'the disk of pg_wal' }, path.join(folder, 'seg'), { path: path.join(folder, 'seg.json'), text: markerOf }, { onTargetExists: accept }));
    expect(err.message).toMatch(new RegExp(`^reading ${src.path} failed: `));
    expect(err.hint).toContain('the disk of pg_wal');
    expect(names(folder)).toEqual([]);
  });

  it('removes both temp files when aborted', async () => {
    const folder = path.join(dir, 'interrupted');
    const src = await sourceOf(3 * MB);
    try {
      const publish = writeFileAndMarker(src, path.join(folder, 'seg'), { path: path.join(folder, 'seg.json'), text: markerOf }, { onTargetExists: accept, signal: AbortSignal.abort() });
      await expect(publish).rejects.toMatchObject({ name: 'AbortError' });
      expect(names(folder)).toEqual([]);
    } finally {
      await src.handle.close();
    }
  });
});
