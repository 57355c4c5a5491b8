import { Worker } from 'node:worker_threads';

// The sha256 sums of a tar lay-down, computed on a worker thread while the main thread parses and writes: the tar's
// own sum and each file's. One thread doing both hashes beside the writes was the lay-down's bottleneck (on
// bench:pitr's 341 MB tar: 0.86 CPU-s of hashing beside 1.05 of reading and writing). Each chunk the lay-down has
// written is copied to the worker; at most IN_FLIGHT bytes wait there, the lay-down holds its next chunk until the
// worker catches up.

/** bytes copied to the worker and not yet hashed, beyond which the lay-down waits */
const IN_FLIGHT = 8 * 1024 * 1024;

// The worker's program. A string, not a file: the same code runs from lib/ (tsx) and from a bundle in dist/. It runs
// as CommonJS or as an ES module (node's --input-type=module, which the benchmark's launcher passes): the built-in
// modules come from process.getBuiltinModule (Node >= 20.16), else require.
const PROGRAM = `
const load = typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule : require;
const { parentPort } = load('node:worker_threads');
const { createHash } = load('node:crypto');
const tar = createHash('sha256');
let tarBytes = 0;
let file;
const files = [];
parentPort.on('message', (m) => {
  if (m.finish) {
    parentPort.postMessage({ done: { tar: m.tar ? tar.digest('hex') : undefined, tarBytes, files } });
    return;
  }
  const chunk = m.chunk;
  if (m.tar) {
    tar.update(chunk);
    tarBytes += chunk.length;
  }
  for (const op of m.ops) {
    if (op[0] === 'b') file = { name: op[1], hash: createHash('sha256') };
    else if (op[0] === 'd') file.hash.update(chunk.subarray(op[1], op[1] + op[2]));
    else if (op[0] === 'e') {
      files.push([file.name, file.hash.digest('hex')]);
      file = undefined;
    }
  }
  parentPort.postMessage({ hashed: chunk.length });
});
`;

export type HashOp = ['b', string] | ['d', number, number] | ['e'];

export interface HashDigests {
  /** the sum of every chunk, when hashTar */
  tar?: string;
  tarBytes: number;
  /** each file's sum, in the order the files ended */
  files: [string, string][];
}

// A worker hashing the chunks a lay-down pushes: hashTar sums them whole, and each chunk's ops ('b' name: a file
// begins, 'd' offset length: its data in the chunk, 'e': it ends) sum the files.
export class HashWorker {
  // none of this process's node flags (--input-type, --cpu-prof, --import tsx): the program needs none
  private readonly worker = new Worker(PROGRAM, { eval: true, execArgv: [] });
  private inFlight = 0;
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  private finished: ((d: HashDigests) => void) | undefined;
  private failed: ((err: Error) => void) | undefined;

  constructor(private readonly hashTar: boolean) {
    this.worker.on('message', (m: { hashed?: number; done?: HashDigests }) => {
      if (m.done) {
        this.finished?.(m.done);
        return;
      }
      this.inFlight -= m.hashed ?? 0;
      if (this.inFlight <= IN_FLIGHT) this.release();
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the lay-down's hashing thread ended (exit code ${code}) before it was done`)));
  }

  // Sends a copy of chunk (the caller may reuse it) and its ops; calls ready once the worker has room for more
  // (at once, mostly).
  push(chunk: Uint8Array, ops: HashOp[], ready: (err?: Error) => void): void {
    if (this.failure) return ready(this.failure);
    const copy = new Uint8Array(chunk.length);
    copy.set(chunk);
    this.inFlight += copy.length;
    this.worker.postMessage({ chunk: copy, ops, tar: this.hashTar }, [copy.buffer]);
    if (this.inFlight <= IN_FLIGHT) return ready();
    this.waiting = () => ready(this.failure);
  }

  // The sums, once every chunk pushed is hashed; the worker ends.
  async finish(): Promise<HashDigests> {
    if (this.failure) throw this.failure;
    const done = new Promise<HashDigests>((resolve, reject) => {
      this.finished = resolve;
      this.failed = reject;
    });
    this.worker.postMessage({ finish: true, tar: this.hashTar });
    try {
      return await done;
    } finally {
      await this.close();
    }
  }

  // Ends the worker (after a failure, or once finished).
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private release(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.release();
    this.failed?.(err);
  }
}
