import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LayDownWorkers, WRITERS, type ChunkWork } from '../../../lib/tar/write-workers.ts';

const sum = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe("the lay-down's writer threads", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-writers-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const openFile = (w: LayDownWorkers, name: string) => {
    const fd = fs.openSync(path.join(dir, name), 'wx', 0o600);
    w.opened(fd);
    return fd;
  };
  const next = (w: LayDownWorkers, chunk: Buffer) => new Promise<ChunkWork>((resolve, reject) => w.whenFree((err) => (err ? reject(err) : resolve(w.take(chunk)!))));

  it('writes and sums each file on the thread it was given, sums the tar whole, and shares the chunks without copying them per thread', async () => {
    const w = new LayDownWorkers(true);
    const a = Buffer.from('headerAAAAtrailer');
    const b = Buffer.from('BBcc');
    const one = w.assign(6);
    const two = w.assign(2);
    // the second file goes to the other thread: it was given fewer bytes
    expect(two).not.toBe(one);
    const first = await next(w, a);
    first.ops[one].push(['b', 'one', openFile(w, 'one'), true], ['d', 6, 4]);
    w.post(first);
    // the caller may reuse its chunk once taken: the threads read the slot's copy
    a.fill(0);
    const second = await next(w, b);
    second.ops[one].push(['d', 0, 2], ['e']);
    second.ops[two].push(['b', 'two', openFile(w, 'two'), false], ['d', 2, 2], ['e']);
    w.post(second);
    const d = await w.finish();
    expect(d.tar).toBe(sum('headerAAAAtrailerBBcc'));
    expect(d.tarBytes).toBe(21);
    // only the files asked for are summed
    expect(d.files).toEqual([['one', sum('AAAABB')]]);
    expect(fs.readFileSync(path.join(dir, 'one'), 'utf8')).toBe('AAAABB');
    expect(fs.readFileSync(path.join(dir, 'two'), 'utf8')).toBe('cc');
  });

  it('holds the next chunk while every slot is in use, and goes on as the threads free them (32 MB through 16 slots)', async () => {
    const w = new LayDownWorkers(true);
    const chunk = Buffer.alloc(1024 * 1024, 'pg');
    const writer = w.assign(32 * chunk.length);
    const fd = openFile(w, 'big');
    const whole = createHash('sha256');
    for (let i = 0; i < 32; i++) {
      const work = await next(w, chunk);
      if (i === 0) work.ops[writer].push(['b', 'big', fd, true]);
      work.ops[writer].push(['d', 0, chunk.length]);
      if (i === 31) work.ops[writer].push(['e']);
      w.post(work);
      whole.update(chunk);
    }
    const d = await w.finish();
    expect(d.files).toEqual([['big', whole.digest('hex')]]);
    expect(d.tar).toBe(d.files[0][1]);
    expect(fs.statSync(path.join(dir, 'big')).size).toBe(32 * chunk.length);
    expect(WRITERS).toBeGreaterThan(1);
  });

  it('fails with the write error of a thread (a descriptor it cannot write), and closes what it had open', async () => {
    const w = new LayDownWorkers(false);
    const readOnly = fs.openSync(path.join(dir, 'ro'), 'w+');
    fs.closeSync(readOnly);
    const fd = fs.openSync(path.join(dir, 'ro'), 'r');
    w.opened(fd);
    const work = await next(w, Buffer.from('data'));
    work.ops[w.assign(4)].push(['b', 'ro', fd, true], ['d', 0, 4]);
    w.post(work);
    await expect(w.finish()).rejects.toMatchObject({ code: 'EBADF', syscall: 'write' });
    // closed by the lay-down once its threads ended
    expect(() => fs.fstatSync(fd)).toThrow(/EBADF/);
  });

  it('runs under node --input-type=module, as the benchmark launches pgops', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      const { LayDownWorkers } = await import(${JSON.stringify(path.resolve('lib/tar/write-workers.ts'))});
      const w = new LayDownWorkers(true);
      await new Promise((r) => w.whenFree(r));
      w.post(w.take(Buffer.from('abc')));
      console.log((await w.finish()).tar);`], { encoding: 'utf8' });
    expect(out.trim()).toBe(sum('abc'));
  });
});
