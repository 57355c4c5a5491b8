import fs from 'node:fs';
import { Worker } from 'node:worker_threads';

// The lay-down's writes and sums on worker threads, while the main thread reads and parses the tar: each regular
// file's data is written (into the descriptor the main thread opened, O_EXCL|O_NOFOLLOW, extract.ts) and summed by
// one of WRITERS threads, a file going whole to the one with the fewest bytes given so far; the tar's own sum runs on
// a thread of its own. A single thread writing every file was the lay-down's bottleneck: on bench:pitr's 1.5 GB base
// backup it took 5.0 s where pgBackRest's restore (two processes) took 2.6 s.
//
// Chunks are shared, not copied to each thread: the main thread reads a file straight into a slot of a pool of
// SharedArrayBuffers (or copies a streamed chunk into one) and posts each thread its part's ops; the slot is reused once every thread it went to is done
// with it. At most SLOTS chunks are in flight: the lay-down holds its next chunk until a slot is free.
//
// When asked, each file is fsynced as soon as its writer has written its end (on libuv's pool, so neither the writers
// nor the parse wait for it) and closed after: the flushes overlap the writes of the files after it, where one pass
// over every file at the end (1.5 GB: 0.7 s) waited for all of them.

/** a slot holds one chunk of the tar stream (the read stream's, at most 1 MB; for a bigger one the slot grows) */
const SLOT_BYTES = 1024 * 1024;
const SLOTS = 16;
export const WRITERS = 2;

// The threads' programs. Strings, not files: the same code runs from lib/ (tsx) and from a bundle in dist/, as
// CommonJS or as an ES module (node's --input-type=module, which the benchmark's launcher passes): the built-in
// modules come from process.getBuiltinModule (Node >= 20.16), else require.
const LOAD = `const load = typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule : require;
const { parentPort } = load('node:worker_threads');
const { createHash } = load('node:crypto');`;

// ops: ['b', name, fd, sum?] a file begins, ['d', offset, length] its data in the chunk, ['e'] it ends; the
// descriptors of the files ended are sent back with the reply: the thread that opened one closes it (node warns of a
// descriptor closed by a thread that did not open it)
const WRITER = `${LOAD}
const { writeSync } = load('node:fs');
let file;
const files = [];
const slots = [];
parentPort.on('message', (m) => {
  if (m.finish) {
    parentPort.postMessage({ done: files });
    return;
  }
  if (m.sab) slots[m.slot] = new Uint8Array(m.sab);
  const chunk = slots[m.slot].subarray(0, m.length);
  const closed = [];
  try {
    for (const op of m.ops) {
      if (op[0] === 'b') file = { name: op[1], fd: op[2], hash: op[3] ? createHash('sha256') : undefined };
      else if (op[0] === 'd') {
        const part = chunk.subarray(op[1], op[1] + op[2]);
        for (let off = 0; off < part.length; ) off += writeSync(file.fd, part, off, part.length - off);
        if (file.hash) file.hash.update(part);
      } else if (op[0] === 'e') {
        const f = file;
        file = undefined;
        closed.push(f.fd);
        if (f.hash) files.push([f.name, f.hash.digest('hex')]);
      }
    }
  } catch (err) {
    parentPort.postMessage({ slot: m.slot, closed, error: { message: err.message, code: err.code, syscall: err.syscall, errno: err.errno } });
    return;
  }
  parentPort.postMessage({ slot: m.slot, closed });
});
`;

const TAR_HASHER = `${LOAD}
const tar = createHash('sha256');
let bytes = 0;
const slots = [];
parentPort.on('message', (m) => {
  if (m.finish) {
    parentPort.postMessage({ done: { sha256: tar.digest('hex'), bytes } });
    return;
  }
  if (m.sab) slots[m.slot] = new Uint8Array(m.sab);
  tar.update(slots[m.slot].subarray(0, m.length));
  bytes += m.length;
  parentPort.postMessage({ slot: m.slot, closed: [] });
});
`;

export type WriteOp = ['b', string, number, boolean] | ['d', number, number] | ['e'];

/** what the threads summed: the tar (when asked) and each summed file, in the order the files ended on each thread */
export interface WrittenSums {
  tar?: string;
  tarBytes: number;
  files: [string, string][];
}

interface Reply {
  slot?: number;
  closed?: number[];
  error?: { message: string; code?: string; syscall?: string; errno?: number };
  done?: unknown;
}

// One chunk's work, built while its ops are read: its slot (buffer: a view of it, to read the chunk into), its length,
// and each writer's ops for it.
export interface ChunkWork {
  readonly slot: number;
  readonly buffer: Buffer;
  length: number;
  readonly ops: WriteOp[][];
}

// The writer threads and the tar's hashing thread of one lay-down.
export class LayDownWorkers {
  // none of this process's node flags (--input-type, --cpu-prof, --import tsx): the programs need none
  private readonly writers = Array.from({ length: WRITERS }, () => new Worker(WRITER, { eval: true, execArgv: [] }));
  private readonly tar: Worker | undefined;
  private readonly all: Worker[];
  private readonly slots: SharedArrayBuffer[] = [];
  private readonly refs: number[] = [];
  private readonly free: number[] = [];
  private readonly given = new Array<number>(WRITERS).fill(0);
  /** descriptors handed to a writer whose file it has not ended yet: closed here when the lay-down stops early */
  private readonly open = new Set<number>();
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  /** the buffer of each slot as each thread has it */
  private readonly known: SharedArrayBuffer[][] = [];
  private readonly pending = new Map<Worker, { resolve: (m: Reply) => void; reject: (err: Error) => void }>();
  /** the fsyncs (and closes waiting for an early flush) under way, each closing its descriptor once done */
  private readonly syncs = new Set<Promise<void>>();
  /** the early flushes under way (flushEarly), by descriptor */
  private readonly early = new Map<number, Promise<void>>();

  // hashTar: sum the tar on a thread of its own; sync: fsync each file once written, then close it
  constructor(hashTar: boolean, private readonly sync = false) {
    this.tar = hashTar ? new Worker(TAR_HASHER, { eval: true, execArgv: [] }) : undefined;
    this.all = this.tar ? [...this.writers, this.tar] : [...this.writers];
    for (const w of this.all) {
      w.on('message', (m: Reply) => this.reply(w, m));
      w.on('error', (err) => this.fail(err));
      w.on('exit', (code) => this.fail(new Error(`a lay-down thread ended (exit code ${code}) before it was done`)));
    }
  }

  // The writer a file of this size goes to: the one given the fewest bytes so far.
  assign(size: number): number {
    let w = 0;
    for (let i = 1; i < WRITERS; i++) if (this.given[i] < this.given[w]) w = i;
    this.given[w] += size;
    return w;
  }

  // Hands a descriptor to the threads (closed here once its thread has written the file's end).
  opened(fd: number): void {
    this.open.add(fd);
  }

  // Starts writing back what a big file's writer has written so far (sync), while it goes on: the fsync once it is
  // written then waits only for its last part. An error fails the lay-down (the fsync after would not see it again).
  flushEarly(fd: number): void {
    if (!this.sync || this.early.has(fd) || this.failure) return;
    this.early.set(fd, new Promise<void>((resolve) => fs.fdatasync(fd, (err) => {
      if (err) this.fail(err);
      this.early.delete(fd);
      resolve();
    })));
  }

  // A free slot of at least size bytes, to read a chunk into; undefined when every slot is in use (wait with whenFree).
  slot(size = SLOT_BYTES): ChunkWork | undefined {
    if (this.failure) throw this.failure;
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.slots.length >= SLOTS) return undefined;
      slot = this.slots.length;
      this.slots.push(new SharedArrayBuffer(Math.max(SLOT_BYTES, size)));
      this.refs.push(0);
    } else if (this.slots[slot].byteLength < size) {
      this.slots[slot] = new SharedArrayBuffer(size);
    }
    return { slot, buffer: Buffer.from(this.slots[slot]), length: 0, ops: this.writers.map(() => []) };
  }

  // A slot holding a copy of chunk; undefined when every slot is in use (wait with whenFree).
  take(chunk: Uint8Array): ChunkWork | undefined {
    const work = this.slot(chunk.length);
    if (!work) return undefined;
    work.buffer.set(chunk);
    work.length = chunk.length;
    return work;
  }

  // Sends a chunk's ops to the writers it concerns, and the chunk to the tar's thread.
  post(work: ChunkWork): void {
    let refs = 0;
    work.ops.forEach((ops, i) => {
      if (ops.length === 0) return;
      refs += 1;
      this.writers[i].postMessage({ slot: work.slot, sab: this.news(i, work.slot), length: work.length, ops });
    });
    if (this.tar) {
      refs += 1;
      this.tar.postMessage({ slot: work.slot, sab: this.news(WRITERS, work.slot), length: work.length });
    }
    this.refs[work.slot] = refs;
    if (refs === 0) this.release(work.slot);
  }

  // Calls ready once a slot is free (at once when one is), or with the threads' failure.
  whenFree(ready: (err?: Error) => void): void {
    if (this.failure) return ready(this.failure);
    if (this.free.length > 0 || this.slots.length < SLOTS) return ready();
    this.waiting = () => ready(this.failure);
  }

  // Settles once every chunk posted is written and summed; rejects with the threads' failure.
  drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = () => (this.failure ? reject(this.failure) : this.refs.every((r) => r === 0) ? resolve() : (this.waiting = check));
      check();
    });
  }

  // The sums, once every chunk posted is written and summed and (sync) every file fsynced; the threads end. written is
  // called once everything is written, before the fsyncs still under way are waited for.
  async finish(written?: () => void): Promise<WrittenSums> {
    try {
      await this.drained();
      const done = await Promise.all(this.all.map((w) => this.ask(w)));
      written?.();
      const files = (done.slice(0, WRITERS) as [string, string][][]).flat();
      const tar = this.tar ? (done[WRITERS] as { sha256: string; bytes: number }) : undefined;
      await this.synced();
      if (this.failure) throw this.failure;
      return { tar: tar?.sha256, tarBytes: tar?.bytes ?? 0, files };
    } finally {
      await this.close();
    }
  }

  // Ends the threads (after a failure, or once finished) and closes what they left open.
  async close(): Promise<void> {
    for (const w of this.all) w.removeAllListeners('exit');
    await Promise.all(this.all.map((w) => w.terminate()));
    await this.synced();
    for (const fd of this.open) fs.closeSync(fd);
    this.open.clear();
  }

  // The slot's buffer when the thread (its index in all) does not have it yet: each buffer is sent to a thread once, not
  // with every chunk (a buffer sent is a new object on the other side, for its collector to trace).
  private news(thread: number, slot: number): SharedArrayBuffer | undefined {
    const sab = this.slots[slot];
    const known = (this.known[thread] ??= []);
    if (known[slot] === sab) return undefined;
    known[slot] = sab;
    return sab;
  }

  private ask(w: Worker): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending.set(w, { resolve: (m) => resolve(m.done), reject });
      w.postMessage({ finish: true });
    });
  }

  private reply(w: Worker, m: Reply): void {
    if (m.done !== undefined) {
      this.pending.get(w)?.resolve(m);
      return;
    }
    for (const fd of m.closed ?? []) {
      this.open.delete(fd);
      this.ended(fd);
    }
    if (m.error) {
      this.fail(Object.assign(new Error(m.error.message), { code: m.error.code, syscall: m.error.syscall, errno: m.error.errno }));
      return;
    }
    if (m.slot !== undefined && --this.refs[m.slot] === 0) this.release(m.slot);
  }

  // a close that fails (EIO) fails the lay-down, as a write would
  private closeFd(fd: number): void {
    try {
      fs.closeSync(fd);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  // A file its writer has ended: fsynced (sync, unless the lay-down failed) and closed, in either case only once its
  // early flush is done, so that no flush runs on a descriptor closed (or reused) meanwhile.
  private ended(fd: number): void {
    const sync = this.sync && !this.failure;
    const early = this.early.get(fd);
    if (!sync && !early) return this.closeFd(fd);
    const done: Promise<void> = (early ?? Promise.resolve()).then(() => new Promise<void>((resolve) => {
      const close = (err: Error | null) => {
        if (err) this.fail(err);
        this.closeFd(fd);
        this.syncs.delete(done);
        resolve();
      };
      if (sync) fs.fsync(fd, close);
      else close(null);
    }));
    this.syncs.add(done);
  }

  // Settles once no fsync or early flush is under way.
  private async synced(): Promise<void> {
    while (this.syncs.size > 0 || this.early.size > 0) await Promise.all([...this.syncs, ...this.early.values()]);
  }

  private release(slot: number): void {
    this.free.push(slot);
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.wake();
  }
}
