import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractTar, memberPath } from '../../../lib/tar/extract.ts';

// A ustar member as PostgreSQL's tar.c writes one: a 512-byte header, the data padded to 512 bytes.
function member(name: string, o: { type?: '0' | '5' | '2'; data?: string | Buffer; link?: string; mode?: number } = {}): Buffer {
  const h = Buffer.alloc(512);
  const data = Buffer.from(o.data ?? '');
  h.write(name, 0, 100);
  h.write(`${(o.mode ?? 0o600).toString(8).padStart(7, '0')}\0`, 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(o.type ?? '0', 156);
  if (o.link) h.write(o.link, 157, 100);
  h.write('ustar\x0000', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}
const tar = (...members: Buffer[]) => Buffer.concat([...members, Buffer.alloc(1024)]);
// pushed in small pieces, as a network stream would
const chunked = (b: Buffer, size = 700) => Readable.from(Array.from({ length: Math.ceil(b.length / size) }, (_, i) => b.subarray(i * size, (i + 1) * size)));

let dir: string;
let dest: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-extract-'));
  dest = path.join(dir, 'pgdata');
  fs.mkdirSync(dest);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('laying a tar stream down', () => {
  it('writes files (0600), folders (0700) and symlinks, with the data intact, and counts them', async () => {
    const big = 'x'.repeat(5000);
    const archive = tar(member('PG_VERSION', { data: '15\n' }), member('base/', { type: '5', mode: 0o755 }), member('base/1/1259', { data: big, mode: 0o644 }), member('pg_wal/', { type: '5' }), member('pg_tblspc/16384', { type: '2', link: '/srv/tblspc' }));
    const r = await extractTar(chunked(archive), dest);
    expect(r).toMatchObject({ files: 2, symlinks: 1, tarBytes: archive.length, dataBytes: 3 + 5000 });
    expect(fs.readFileSync(path.join(dest, 'PG_VERSION'), 'utf8')).toBe('15\n');
    expect(fs.readFileSync(path.join(dest, 'base/1/1259'), 'utf8')).toBe(big);
    expect(fs.statSync(path.join(dest, 'base/1/1259')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dest, 'base')).mode & 0o777).toBe(0o700);
    // base/1/ had no member of its own: made on the way
    expect(fs.statSync(path.join(dest, 'base/1')).mode & 0o777).toBe(0o700);
    expect(fs.readlinkSync(path.join(dest, 'pg_tblspc/16384'))).toBe('/srv/tblspc');
    expect(r.syncMs).toBeGreaterThanOrEqual(0);
  });

  it('lays down what GNU tar wrote (ustar), through a decompressing stream', async () => {
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'global'), { recursive: true });
    fs.writeFileSync(path.join(src, 'global', 'pg_control'), Buffer.alloc(8192, 7));
    fs.writeFileSync(path.join(src, 'backup_label'), 'START WAL LOCATION: 0/2000028\n');
    const plain = execFileSync('tar', ['--format=ustar', '-cf', '-', '-C', src, 'global', 'backup_label']);
    const r = await extractTar(Readable.from([zlib.gzipSync(plain)]), dest, { decompress: zlib.createGunzip() });
    expect(r.files).toBe(2);
    expect(fs.readFileSync(path.join(dest, 'global', 'pg_control')).equals(Buffer.alloc(8192, 7))).toBe(true);
  });

  it.runIf(process.getuid?.() === 0)('gives every file, folder and symlink to the owner', async () => {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    await extractTar(chunked(tar(member('base/1/1259', { data: 'x' }), member('link', { type: '2', link: 'base' }))), dest, { owner: { uid, gid } });
    for (const p of ['base', 'base/1', 'base/1/1259']) expect(fs.statSync(path.join(dest, p)).uid).toBe(uid);
    expect(fs.lstatSync(path.join(dest, 'link')).uid).toBe(uid);
  });

  it('refuses members that would be written outside the folder: absolute, "..", through a symlink of the archive', async () => {
    const outside = path.join(dir, 'outside');
    for (const evil of [
      tar(member('/tmp/evil', { data: 'x' })),
      tar(member('base/../../outside', { data: 'x' })),
      tar(member('escape', { type: '2', link: dir }), member('escape/outside', { data: 'x' })),
    ]) {
      await expect(extractTar(chunked(evil), dest)).rejects.toMatchObject({ code: 6, message: expect.stringMatching(/would be written outside the data directory/) });
      expect(fs.existsSync(outside)).toBe(false);
      fs.rmSync(dest, { recursive: true });
      fs.mkdirSync(dest);
    }
    expect(() => memberPath('a/./b/', new Set())).not.toThrow();
    expect(memberPath('a/./b/', new Set())).toEqual(['a', 'b']);
  });

  it('never writes a name twice, nor through a symlink it laid down', async () => {
    await expect(extractTar(chunked(tar(member('PG_VERSION', { data: '15' }), member('PG_VERSION', { data: 'evil' }))), dest)).rejects.toMatchObject({ code: 6, message: expect.stringMatching(/holds "PG_VERSION" twice/) });
    expect(fs.readFileSync(path.join(dest, 'PG_VERSION'), 'utf8')).toBe('15');
    fs.rmSync(dest, { recursive: true });
    fs.mkdirSync(dest);
    const target = path.join(dir, 'victim');
    fs.writeFileSync(target, 'mine');
    await expect(extractTar(chunked(tar(member('conf', { type: '2', link: target }), member('conf', { data: 'evil' }))), dest)).rejects.toMatchObject({ code: 6 });
    expect(fs.readFileSync(target, 'utf8')).toBe('mine');
  });

  it("checks each file against the sha256 it is given as it writes it, and refuses one that differs", async () => {
    const sum = (t: string) => createHash('sha256').update(t).digest('hex');
    const archive = tar(member('PG_VERSION', { data: '15\n' }), member('empty', {}), member('base/1/1259', { data: 'y'.repeat(3000) }));
    const good = new Map([['PG_VERSION', sum('15\n')], ['empty', sum('')], ['base/1/1259', sum('y'.repeat(3000))]]);
    expect((await extractTar(chunked(archive), dest, { sha256: good })).checked).toBe(3);
    const other = path.join(dir, 'other');
    fs.mkdirSync(other);
    const bad = new Map([...good, ['base/1/1259', sum('z'.repeat(3000))]]);
    await expect(extractTar(chunked(archive), other, { sha256: bad })).rejects.toMatchObject({ code: 6, message: expect.stringMatching(/base\/1\/1259 of the tar stream does not match backup_manifest/) });
  });

  it('sums the tar stream itself when asked, on the same pass, beside the files', async () => {
    const sum = (t: Buffer | string) => createHash('sha256').update(t).digest('hex');
    // larger than what the hashing thread holds at once (8 MB): the lay-down waits for it and goes on
    const big = Buffer.alloc(20 * 1024 * 1024 + 123, 'pg');
    const archive = tar(member('PG_VERSION', { data: '15\n' }), member('base/1/1259', { data: big }));
    const r = await extractTar(chunked(archive), dest, { hashTar: true, sha256: new Map([['base/1/1259', sum(big)]]) });
    expect(r.tarSha256).toBe(sum(archive));
    expect(r.tarBytes).toBe(archive.length);
    expect(r.checked).toBe(1);
    expect(fs.readFileSync(path.join(dest, 'base/1/1259')).equals(big)).toBe(true);
    const other = path.join(dir, 'other2');
    fs.mkdirSync(other);
    expect((await extractTar(chunked(archive), other, { hashTar: true })).tarSha256).toBe(sum(archive));
  });

  it('reads an uncompressed tar file straight into its buffers: the same files and sums as the stream, its end and a cut file found alike', async () => {
    const sum = (t: Buffer | string) => createHash('sha256').update(t).digest('hex');
    // more than the 16 slots of 1 MB the threads share, several files to each writer
    const files = Array.from({ length: 6 }, (_, i) => ({ name: `base/1/${16384 + i}`, data: Buffer.alloc(3 * 1024 * 1024 + i * 1000, `f${i}`) }));
    const archive = tar(member('PG_VERSION', { data: '15\n' }), ...files.map((f) => member(f.name, { data: f.data })));
    const file = path.join(dir, 'base.tar');
    fs.writeFileSync(file, archive);
    const r = await extractTar({ file }, dest, { hashTar: true, sha256: new Map(files.map((f) => [f.name, sum(f.data)])) });
    expect(r).toMatchObject({ files: 7, checked: 6, tarBytes: archive.length, tarSha256: sum(archive) });
    for (const f of files) expect(fs.readFileSync(path.join(dest, f.name)).equals(f.data)).toBe(true);
    const cut = path.join(dir, 'cut.tar');
    fs.writeFileSync(cut, archive.subarray(0, 5 * 1024 * 1024));
    const other = path.join(dir, 'other3');
    fs.mkdirSync(other);
    await expect(extractTar({ file: cut }, other)).rejects.toMatchObject({ code: 6, message: expect.stringMatching(/ends inside base\/1\/16385/) });
  });

  it('fsyncs each file as it is written, a big one flushed early on the way, and leaves no descriptor open, laid down whole or refused', async () => {
    const openFds = () => fs.readdirSync('/proc/self/fd').length;
    const files = Array.from({ length: 5 }, (_, i) => ({ name: `base/1/${16384 + i}`, data: Buffer.alloc(3 * 1024 * 1024 + i * 777, `s${i}`) }));
    const members = [member('PG_VERSION', { data: '15\n' }), ...files.map((f) => member(f.name, { data: f.data }))];
    const file = path.join(dir, 'base.tar');
    fs.writeFileSync(file, tar(...members));
    const before = openFds();
    const r = await extractTar({ file }, dest, { flushEvery: 256 * 1024 });
    expect(r.files).toBe(6);
    for (const f of files) expect(fs.readFileSync(path.join(dest, f.name)).equals(f.data)).toBe(true);
    expect(openFds()).toBe(before);
    // refused after the files before it were handed over: their fsyncs and early flushes end before it rejects
    const bad = path.join(dir, 'bad.tar');
    fs.writeFileSync(bad, tar(...members, member('../escape', { data: 'x' })));
    const other = path.join(dir, 'other4');
    fs.mkdirSync(other);
    await expect(extractTar({ file: bad }, other, { flushEvery: 256 * 1024 })).rejects.toMatchObject({ code: 6, message: expect.stringMatching(/goes up with/) });
    expect(openFds()).toBe(before);
  });

  it('refuses an archive cut short', async () => {
    const whole = tar(member('base/1/1259', { data: 'x'.repeat(3000) }));
    await expect(extractTar(chunked(whole.subarray(0, 2000)), dest)).rejects.toMatchObject({ code: 6, message: expect.stringMatching(/ends inside base\/1\/1259/) });
  });
});
