import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { followFile } from '../../lib/follow-file.ts';
import { tempDirs } from '../support/temp-dir.ts';

const tempDir = tempDirs('pgops-follow-');

// A writer whose end the test decides: done() or fail(err).
function writer() {
  let done!: () => void;
  let fail!: (err: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    fail = reject;
  });
  return { finished, done, fail };
}

describe('followFile', () => {
  it('reads what the writer appends, waiting for more until the writer is done, then to the end', async () => {
    const file = path.join(tempDir(), 'base.tar');
    const w = writer();
    const reader = followFile(file, { writerDone: w.finished });
    // the file does not exist yet: the reader waits for it
    const first = reader.next();
    fs.writeFileSync(file, 'abc');
    expect((await first).value?.toString()).toBe('abc');
    // caught up: the next read waits for the writer's next bytes
    const second = reader.next();
    fs.appendFileSync(file, 'def');
    expect((await second).value?.toString()).toBe('def');
    // bytes written just before the writer ends are read all the same
    fs.appendFileSync(file, Buffer.alloc(3 * 1024 * 1024, 7));
    w.done();
    const rest: Buffer[] = [];
    for (let r = await reader.next(); !r.done; r = await reader.next()) rest.push(Buffer.from(r.value));
    expect(Buffer.concat(rest)).toEqual(Buffer.alloc(3 * 1024 * 1024, 7));
  });

  it('reads into one buffer, and gives the event loop a turn before each read (what else waits runs while it reads)', async () => {
    const file = path.join(tempDir(), 'base.tar');
    fs.writeFileSync(file, Buffer.alloc(8 * 1024 * 1024, 1));
    let turned = false;
    setImmediate(() => (turned = true));
    const seen: boolean[] = [];
    const memory = new Set<ArrayBufferLike>();
    for await (const chunk of followFile(file, { writerDone: Promise.resolve() })) {
      seen.push(turned && chunk.length > 0);
      memory.add(chunk.buffer);
    }
    expect(seen.length).toBe(8);
    expect(memory.size).toBe(1);
    expect(seen.every(Boolean)).toBe(true);
  });

  it('stops with the writer error when the writer fails', async () => {
    const file = path.join(tempDir(), 'base.tar');
    fs.writeFileSync(file, 'abc');
    const w = writer();
    const reader = followFile(file, { writerDone: w.finished });
    expect((await reader.next()).value?.toString()).toBe('abc');
    w.fail(new Error('pg_basebackup exited with code 1'));
    await expect(reader.next()).rejects.toThrow('pg_basebackup exited with code 1');
  });

  it('ends empty when the writer ended without creating the file', async () => {
    const w = writer();
    w.done();
    const got: Buffer[] = [];
    for await (const chunk of followFile(path.join(tempDir(), 'never'), { writerDone: w.finished })) got.push(chunk);
    expect(got).toEqual([]);
  });

  it('stops when aborted while it waits', async () => {
    const file = path.join(tempDir(), 'base.tar');
    fs.writeFileSync(file, '');
    const stop = new AbortController();
    const reader = followFile(file, { writerDone: new Promise(() => {}), signal: stop.signal });
    const next = reader.next();
    stop.abort(new Error('SIGTERM'));
    await expect(next).rejects.toThrow('SIGTERM');
  });
});
