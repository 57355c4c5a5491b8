import type { S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PgopsError } from '../../lib/errors.ts';
import { silentLogger, type Logger } from '../../lib/log.ts';
import { FileRepo } from '../../lib/repo/file.ts';
import { NotFoundError, type Repo } from '../../lib/repo/repo.ts';
import { S3Repo } from '../../lib/repo/s3.ts';
import { freePort } from '../support/cluster.ts';
import { clientFor, multipartUploads } from '../support/s3-capabilities.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';

const MB = 1024 * 1024;

// One implementation under test: opens a fresh, empty repository per test.
interface Target {
  kind: 'file' | 's3';
  /** the S3 server behind an s3 target (once setup() ran) */
  server?: S3Server;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  open(opts?: { pageSize?: number; log?: Logger }): Repo;
  /** records the keys each delete() removes, in order */
  recordDeletes(repo: Repo): string[];
}

let serial = 0;
const opened: Repo[] = [];

function fileTarget(): Target {
  let root = '';
  return {
    kind: 'file',
    async setup() {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-repo-'));
    },
    async teardown() {
      fs.rmSync(root, { recursive: true, force: true });
    },
    open: () => new FileRepo(path.join(root, `t${++serial}`)),
    recordDeletes(repo) {
      const seen: string[] = [];
      const rm = fsp.rm;
      vi.spyOn(fsp, 'rm').mockImplementation(async (p, o) => {
        seen.push(path.relative((repo as FileRepo).root, String(p)));
        return rm(p, o);
      });
      return seen;
    },
  };
}

function s3Target(start: () => Promise<S3Server>): Target & { server: S3Server } {
  const saved: Record<string, string | undefined> = {};
  const target: Target & { server: S3Server } = {
    kind: 's3',
    server: undefined as unknown as S3Server,
    async setup() {
      const server = (target.server = await start());
      for (const [k, v] of Object.entries(server.env)) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
    },
    async teardown() {
      await target.server?.stop();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
    open: (opts = {}) =>
      new S3Repo({ bucket: target.server.bucket, prefix: `t${++serial}`, options: target.server.options, log: opts.log ?? silentLogger(), pageSize: opts.pageSize }),
    recordDeletes(repo) {
      const seen: string[] = [];
      // observes the requests the repository sends; the server still answers them
      const { client, prefix } = repo as unknown as { client: S3Client; prefix: string };
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'DeleteObjectCommand') seen.push((args.input as { Key: string }).Key.slice(prefix.length + 1));
          return next(args);
        },
        { step: 'initialize', name: 'testRecordDeletes' },
      );
      return seen;
    },
  };
  return target;
}

function track<T extends Repo>(repo: T): T {
  opened.push(repo);
  return repo;
}

// A body of random bytes in chunks of chunkSize, optionally failing after failAfter bytes.
function randomBody(size: number, chunkSize = 256 * 1024, failAfter?: number): { body: Readable; data: Buffer } {
  const data = randomBytes(size);
  async function* chunks() {
    for (let at = 0; at < size; at += chunkSize) {
      if (failAfter !== undefined && at >= failAfter) throw new Error('the source broke half-way');
      yield data.subarray(at, at + chunkSize);
    }
  }
  return { body: Readable.from(chunks(), { objectMode: false }), data };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('file repository', () => {
  const target = fileTarget();
  beforeAll(() => target.setup());
  afterAll(() => target.teardown());
  repositoryContract(target);
});

// One server per S3 implementation for the whole block: the repository contract, then its error messages.
describe.each(S3_SERVERS)('s3 repository on $name', ({ start }) => {
  const target = s3Target(start);
  beforeAll(() => target.setup());
  afterAll(() => target.teardown());
  repositoryContract(target);
  describe('errors', () => s3Errors(() => target.server));
});

// On a server that lists multipart uploads: none is left in progress under the repository's prefix.
async function expectNoUploadsLeft(target: Target, repo: Repo): Promise<void> {
  if (!target.server?.capabilities.listMultipartUploads) return;
  const client = clientFor(target.server);
  try {
    expect(await multipartUploads(client, target.server.bucket, `${(repo as S3Repo).prefix}/`)).toEqual([]);
  } finally {
    client.destroy();
  }
}

// What every Repo implementation promises (lib/repo/repo.ts), as tests on target.
function repositoryContract(target: Target): void {
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const repo of opened.splice(0)) await repo.close();
  });

  it('passes check() and leaves no probe behind', async () => {
    const repo = track(target.open());
    await repo.check();
    expect(await repo.list('')).toEqual([]);
  });

  it('streams a multi-part body and reads it back byte-identical', async () => {
    const repo = track(target.open());
    const { body, data } = randomBody(12 * MB);
    let progress = 0;
    const put = await repo.put('set/dump.pgdump', body, { onProgress: (n) => (progress = n) });
    expect(put).toEqual({ key: 'set/dump.pgdump', size: 12 * MB, sha256: sha256(data) });
    expect(progress).toBe(12 * MB);
    const back = await readAll(await repo.get('set/dump.pgdump'));
    expect(back.length).toBe(data.length);
    expect(sha256(back)).toBe(put.sha256);
    expect(back.equals(data)).toBe(true);
    expect(await repo.list('set')).toMatchObject([{ key: 'set/dump.pgdump', size: 12 * MB }]);
  });

  it('round-trips small contents with putBytes and getBytes', async () => {
    const repo = track(target.open());
    const put = await repo.putBytes('m/manifest.json', '{"ok":true}');
    expect(put).toEqual({ key: 'm/manifest.json', size: 11, sha256: sha256(Buffer.from('{"ok":true}')) });
    expect((await repo.getBytes('m/manifest.json')).toString()).toBe('{"ok":true}');
    expect(await repo.exists('m/manifest.json')).toBe(true);
    expect(await repo.exists('m/other.json')).toBe(false);
    await repo.putBytes('empty', Buffer.alloc(0));
    expect((await repo.getBytes('empty')).length).toBe(0);
  });

  it('lists recursively, sorted, with keys relative to the repository root', async () => {
    const repo = track(target.open());
    for (const key of ['b/2', 'a/sub/3', 'ab/4', 'a/1', 'c']) await repo.putBytes(key, key);
    const all = await repo.list('');
    expect(all.map((o) => o.key)).toEqual(['a/1', 'a/sub/3', 'ab/4', 'b/2', 'c']);
    expect(all[0].size).toBe(3);
    expect(all[0].modified).toBeInstanceOf(Date);
    expect(Math.abs(all[0].modified.getTime() - Date.now())).toBeLessThan(60_000);
    // a prefix is a folder: a/ holds a/1 and a/sub/3, not ab/4
    expect((await repo.list('a')).map((o) => o.key)).toEqual(['a/1', 'a/sub/3']);
    expect(await repo.list('absent')).toEqual([]);
  });

  it('lists every object when the listing spans several pages', async () => {
    const repo = track(target.open({ pageSize: 4 }));
    const keys = Array.from({ length: 11 }, (_, i) => `p/${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((k) => repo.putBytes(k, 'x')));
    expect((await repo.list('p')).map((o) => o.key)).toEqual(keys);
  });

  it('deletes keys one at a time in the order given, missing keys included', async () => {
    const repo = track(target.open());
    for (const key of ['set/a', 'set/manifest.json', 'set/z']) await repo.putBytes(key, 'x');
    const seen = target.recordDeletes(repo);
    await repo.delete(['set/manifest.json', 'set/missing', 'set/z', 'set/a']);
    expect(seen).toEqual(['set/manifest.json', 'set/missing', 'set/z', 'set/a']);
    expect(await repo.list('')).toEqual([]);
    await expect(repo.delete(['never/was'])).resolves.toBeUndefined();
  });

  it('rejects get of a missing key with NotFoundError (exit 5)', async () => {
    const repo = track(target.open());
    await expect(repo.get('nope/x')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.getBytes('nope/x')).rejects.toMatchObject({ name: 'NotFoundError', code: 5 });
  });

  it('refuses keys that could leave the repository', async () => {
    const repo = track(target.open());
    await expect(repo.putBytes('../escape', 'x')).rejects.toThrow(/invalid repository key/);
    await expect(repo.getBytes('/abs')).rejects.toThrow(/invalid repository key/);
  });

  it('rejects a put whose body errors half-way and leaves nothing at the key', async () => {
    const log = silentLogger();
    const repo = track(target.open({ log }));
    await repo.putBytes('keep/dump', 'previous');
    const { body } = randomBody(12 * MB, 1 * MB, 7 * MB);
    await expect(repo.put('set/dump', body)).rejects.toThrow('the source broke half-way');
    expect(await repo.exists('set/dump')).toBe(false);
    // and an errored overwrite leaves the previous object as it was
    const again = randomBody(12 * MB, 1 * MB, 7 * MB);
    await expect(repo.put('keep/dump', again.body)).rejects.toThrow('the source broke half-way');
    expect((await repo.getBytes('keep/dump')).toString()).toBe('previous');
    // no temp file, no half object: only what was there before
    expect((await repo.list('')).map((o) => o.key)).toEqual(['keep/dump']);
    if (target.kind === 'file') {
      const files = fs.readdirSync((repo as FileRepo).root, { recursive: true, withFileTypes: true }).filter((d) => !d.isDirectory());
      expect(files.map((d) => d.name)).toEqual(['dump']);
    }
    const warnings = log.entries.filter((e) => e.kind === 's3-abort');
    if (target.server?.capabilities.abortMultipart === false) {
      // s3rver has no AbortMultipartUpload (405): the parts are left to the lifecycle rule, with a warning
      expect(warnings).toHaveLength(2);
      expect(warnings[0].message).toMatch(/lifecycle rule/);
    } else if (target.server) {
      // both failed uploads were aborted: no parts are left behind, and nothing needed saying
      expect(warnings).toEqual([]);
      await expectNoUploadsLeft(target, repo);
    }
  });

  it('rejects a put whose body errors before the first part is full', async () => {
    const repo = track(target.open());
    const { body } = randomBody(3 * MB, 1 * MB, 2 * MB);
    await expect(repo.put('small', body)).rejects.toThrow('the source broke half-way');
    expect(await repo.list('')).toEqual([]);
  });

  it('rejects an aborted put and leaves nothing at the key', async () => {
    const repo = track(target.open());
    const ac = new AbortController();
    // an endless body: only the abort ends this put
    async function* endless() {
      for (;;) {
        yield randomBytes(MB);
        await new Promise((r) => setImmediate(r));
      }
    }
    const put = repo.put('set/dump', Readable.from(endless()), { signal: ac.signal, onProgress: (n) => n >= 7 * MB && ac.abort() });
    await expect(put).rejects.toMatchObject({ name: 'AbortError' });
    expect(await repo.exists('set/dump')).toBe(false);
    expect(await repo.list('')).toEqual([]);
    await expectNoUploadsLeft(target, repo);
  });

  it('rejects a put whose signal was aborted before it started', async () => {
    const repo = track(target.open());
    await expect(repo.put('x', Readable.from([Buffer.from('data')]), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(await repo.list('')).toEqual([]);
  });

  describe('publishMarked (wal push: a data object and its marker, never overwriting)', () => {
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-marked-'));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    // an open file of random bytes, as wal push holds its segment
    const openFile = async (size: number) => {
      const data = randomBytes(size);
      const file = path.join(dir, `src-${++serial}`);
      fs.writeFileSync(file, data);
      return { data, file: { handle: await fsp.open(file, 'r'), path: file } };
    };
    const refuse = async () => {
      throw new Error('onExists must not be called');
    };
    const keysOf = async (repo: Repo) => (await repo.list('')).map((o) => o.key);

    it('publishes an open file, then its marker made from the stored bytes', async () => {
      const repo = track(target.open());
      const { data, file } = await openFile(3 * MB + 5);
      try {
        const done = await repo.publishMarked({ key: 'w/seg', body: file, markerKey: 'w/seg.json', markerText: (w) => JSON.stringify(w), onExists: refuse });
        expect(done).toEqual({ created: true, markerExisted: false });
        expect(sha256(await repo.getBytes('w/seg'))).toBe(sha256(data));
        expect(JSON.parse((await repo.getBytes('w/seg.json')).toString())).toEqual({ size: data.length, sha256: sha256(data) });
        expect(await keysOf(repo)).toEqual(['w/seg', 'w/seg.json']);
      } finally {
        await file.handle.close();
      }
    });

    it('publishes a stream the same way', async () => {
      const repo = track(target.open());
      const { body, data } = randomBody(MB + 3);
      const done = await repo.publishMarked({ key: 'w/z.gz', body, markerKey: 'w/z.json', markerText: (w) => `${w?.size}`, onExists: refuse });
      expect(done).toEqual({ created: true, markerExisted: false });
      expect(sha256(await repo.getBytes('w/z.gz'))).toBe(sha256(data));
      expect((await repo.getBytes('w/z.json')).toString()).toBe(String(data.length));
    });

    it('hands an existing data object to onExists: refused, nothing is written and what is there stays', async () => {
      const repo = track(target.open());
      await repo.putBytes('w/seg', 'another file');
      const { file } = await openFile(MB);
      try {
        const publish = repo.publishMarked({ key: 'w/seg', body: file, markerKey: 'w/seg.json', markerText: () => 'marker', onExists: async () => {
          throw new PgopsError('stored with other content: nothing was overwritten', { code: 2 });
        } });
        await expect(publish).rejects.toThrow('stored with other content');
        expect((await repo.getBytes('w/seg')).toString()).toBe('another file');
        expect(await keysOf(repo)).toEqual(['w/seg']);
      } finally {
        await file.handle.close();
      }
    });

    it('accepted by onExists: the marker is published beside the data object there', async () => {
      const repo = track(target.open());
      const { data, file } = await openFile(4096);
      await repo.putBytes('w/seg', data);
      try {
        const done = await repo.publishMarked({ key: 'w/seg', body: file, markerKey: 'w/seg.json', markerText: () => 'vouches for it', onExists: async () => {} });
        expect(done).toEqual({ created: false, markerExisted: false });
        expect((await repo.getBytes('w/seg.json')).toString()).toBe('vouches for it');
      } finally {
        await file.handle.close();
      }
    });

    it('leaves a marker that is there already as it was, and says so', async () => {
      const repo = track(target.open());
      await repo.putBytes('w/seg.json', 'the winner');
      const { file } = await openFile(2048);
      try {
        const done = await repo.publishMarked({ key: 'w/seg', body: file, markerKey: 'w/seg.json', markerText: () => 'mine', onExists: refuse });
        expect(done).toEqual({ created: true, markerExisted: true });
        expect((await repo.getBytes('w/seg.json')).toString()).toBe('the winner');
      } finally {
        await file.handle.close();
      }
    });

    it('refused by markerText: nothing of the publish stays', async () => {
      const repo = track(target.open());
      const { file } = await openFile(MB);
      try {
        const publish = repo.publishMarked({ key: 'w/seg', body: file, markerKey: 'w/seg.json', markerText: () => {
          throw new Error('the file changed while it was archived');
        }, onExists: refuse });
        await expect(publish).rejects.toThrow('changed while it was archived');
        expect(await keysOf(repo)).toEqual([]);
      } finally {
        await file.handle.close();
      }
    });
  });
}

// How an S3 repository reports what goes wrong with the endpoint, the bucket or the keys.
function s3Errors(serverOf: () => S3Server): void {
  let server: S3Server;
  beforeAll(() => {
    server = serverOf();
  });
  const open = (bucket: string, options: Record<string, unknown>) => track(new S3Repo({ bucket, prefix: 'p', options, log: silentLogger() }));
  afterEach(async () => {
    for (const repo of opened.splice(0)) await repo.close();
  });

  it('fails check() quickly with "cannot reach" when nothing listens at the endpoint', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const repo = open(server.bucket, { ...server.options, s3Endpoint: endpoint });
    const started = Date.now();
    const err = await repo.check().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgopsError);
    expect(err).toMatchObject({ code: 3, message: expect.stringContaining(`cannot reach S3 endpoint ${endpoint}`) });
    expect((err as PgopsError).hint).toMatch(/--s3-endpoint/);
    expect(Date.now() - started).toBeLessThan(10_000);
    // the other methods say the same
    await expect(repo.list('')).rejects.toMatchObject({ code: 3, message: expect.stringContaining('cannot reach') });
  });

  it('names the bucket when it does not exist', async () => {
    const repo = open('no-such-bucket', server.options);
    await expect(repo.check()).rejects.toMatchObject({ code: 3, message: expect.stringContaining('bucket "no-such-bucket" does not exist'), hint: expect.stringContaining('create it') });
  });

  it('points at the credentials when the access key is refused', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'NOT-A-KEY';
    try {
      const repo = open(server.bucket, server.options);
      await expect(repo.check()).rejects.toMatchObject({ code: 3, message: expect.stringContaining('InvalidAccessKeyId'), hint: expect.stringContaining('AWS_ACCESS_KEY_ID') });
    } finally {
      process.env.AWS_ACCESS_KEY_ID = server.env.AWS_ACCESS_KEY_ID;
    }
  });

  it('keeps keys under the prefix without a leading slash', async () => {
    const root = open(server.bucket, server.options);
    const atRoot = track(new S3Repo({ bucket: server.bucket, prefix: '', options: server.options, log: silentLogger() }));
    expect(atRoot.url).toBe(`s3://${server.bucket}/`);
    await root.putBytes('k', 'v');
    expect((await atRoot.list('p')).map((o) => o.key)).toEqual(['p/k']);
    expect((await atRoot.getBytes('p/k')).toString()).toBe('v');
  });

  it('lists more objects than one S3 page (1000) holds', async () => {
    const repo = track(new S3Repo({ bucket: server.bucket, prefix: 'many', options: server.options, log: silentLogger() }));
    const keys = Array.from({ length: 1003 }, (_, i) => `k/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => repo.putBytes(k, 'x')));
    expect((await repo.list('k')).map((o) => o.key)).toEqual(keys);
  });
}
