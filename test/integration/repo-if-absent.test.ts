import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgopsError } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import { FileRepo } from '../../lib/repo/file.ts';
import { AlreadyExistsError } from '../../lib/repo/repo.ts';
import { S3Repo } from '../../lib/repo/s3.ts';
import { conditionalPut } from '../../lib/repo/s3-upload.ts';
import { clientFor } from '../support/s3-capabilities.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';
import { mountSmallDisk, unmountSmallDisk } from '../support/tmpfs.ts';

// put with ifAbsent never replaces an object: AlreadyExistsError instead, and of writers racing for one key exactly
// one publishes where the repository's exclusiveCreate says so (a folder always: link(2); S3 with If-None-Match where
// the store honours it). And a file repository's storage errors name the cause and the path.
let dir: string;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const settledWinners = (r: PromiseSettledResult<unknown>[]) => r.filter((x) => x.status === 'fulfilled').length;
const refusedAll = (r: PromiseSettledResult<unknown>[]) => r.every((x) => x.status === 'fulfilled' || (x as PromiseRejectedResult).reason instanceof AlreadyExistsError);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-ifabsent-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('FileRepo put with ifAbsent', () => {
  it('publishes a new key, and refuses an existing one with AlreadyExistsError, leaving it as it was', async () => {
    const repo = new FileRepo(path.join(dir, 'one'));
    expect(repo.exclusiveCreate).toBe(true);
    expect(await repo.putBytes('a/b.json', 'first', { ifAbsent: true })).toMatchObject({ size: 5, sha256: sha(Buffer.from('first')) });
    const refused = await repo.putBytes('a/b.json', 'second', { ifAbsent: true }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AlreadyExistsError);
    expect((refused as Error).message).toBe(`a/b.json exists already in repository ${repo.url}: nothing was overwritten`);
    expect(fs.readFileSync(path.join(dir, 'one/a/b.json'), 'utf8')).toBe('first');
    // the refused write's temp file is gone
    expect(fs.readdirSync(path.join(dir, 'one/a'))).toEqual(['b.json']);
  });

  it('of 16 writers racing for one key, exactly one publishes, and the stored object is whole', async () => {
    const repo = new FileRepo(path.join(dir, 'race'));
    const bodies = Array.from({ length: 16 }, (_, i) => randomBytes(256 * 1024 + i));
    const results = await Promise.allSettled(bodies.map((b) => repo.put('k', Readable.from([b]), { ifAbsent: true })));
    expect(settledWinners(results)).toBe(1);
    expect(refusedAll(results)).toBe(true);
    const winner = bodies[results.findIndex((r) => r.status === 'fulfilled')];
    expect(sha(fs.readFileSync(path.join(dir, 'race/k')))).toBe(sha(winner));
    expect(fs.readdirSync(path.join(dir, 'race'))).toEqual(['k']);
  });
});

describe('FileRepo storage errors name the cause and the path', () => {
  it('a file where a folder of the key should be', async () => {
    const root = path.join(dir, 'blocked');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'wal'), 'not a folder');
    const repo = new FileRepo(root);
    const err = (await repo.putBytes('wal/1/x.json', '{}', { ifAbsent: true }).catch((e: unknown) => e)) as PgopsError;
    expect(err).toBeInstanceOf(PgopsError);
    expect(err.message).toBe(`cannot write ${root}/wal/1/x.json: ${root}/wal is a file, not a folder`);
    expect(err.hint).toContain(`move ${root}/wal aside`);
    const read = (await repo.getBytes('wal/1/x.json').catch((e: unknown) => e)) as PgopsError;
    expect(read.message).toBe(`cannot read ${root}/wal/1/x.json: ${root}/wal is a file, not a folder`);
  });

  describe('on a small tmpfs', () => {
    let point: string | undefined;
    let skipped = '';
    beforeAll(() => {
      ({ point, skipped } = mountSmallDisk(os.tmpdir(), '1m', 'the full and read-only disk cases'));
    });
    afterAll(() => unmountSmallDisk({ point, skipped }));

    it('a full disk: "no space left on the repository\'s disk", and nothing left behind', async ({ skip }) => {
      if (!point) return skip(skipped);
      const repo = new FileRepo(point);
      const err = (await repo.put('sets/big', Readable.from([randomBytes(2 * 1024 * 1024)]), { ifAbsent: true }).catch((e: unknown) => e)) as PgopsError;
      expect(err).toBeInstanceOf(PgopsError);
      expect(err.message).toBe(`no space left on the repository's disk (${point}/sets/big)`);
      expect(err.hint).toMatch(/^free space on it/);
      expect(fs.readdirSync(path.join(point, 'sets'))).toEqual([]);
    });

    it('a read-only disk', async ({ skip }) => {
      if (!point) return skip(skipped);
      execFileSync('mount', ['-o', 'remount,ro', point]);
      try {
        const err = (await new FileRepo(point).putBytes('x.json', '{}').catch((e: unknown) => e)) as PgopsError;
        expect(err.message).toBe(`cannot write ${point}/x.json: its file system is read-only`);
        expect(err.hint).toMatch(/^remount it read-write/);
      } finally {
        execFileSync('mount', ['-o', 'remount,rw', point]);
      }
    });
  });
});

describe.each(S3_SERVERS)('S3Repo put with ifAbsent on $name', ({ start }) => {
  let s3: S3Server;
  const repoAt = (prefix: string) => new S3Repo({ bucket: s3.bucket, prefix, options: s3.options, log: silentLogger() });
  beforeAll(async () => {
    s3 = await start();
    Object.assign(process.env, s3.env);
  }, 120_000);
  afterAll(async () => {
    await s3?.stop();
  });

  it('probeConditionalWrites tells whether the store refuses an overwrite, and leaves no probe behind', async () => {
    const repo = repoAt('probe');
    try {
      expect(repo.exclusiveCreate).toBe(false);
      expect(await repo.probeConditionalWrites()).toBe(s3.capabilities.conditionalWrites);
      expect(await repo.list('')).toEqual([]);
    } finally {
      await repo.close();
    }
  });

  it('without conditional writes recorded, ifAbsent looks the key up first and refuses an existing one', async () => {
    const repo = repoAt('lookup');
    try {
      await repo.putBytes('k.json', 'first', { ifAbsent: true });
      await expect(repo.putBytes('k.json', 'second', { ifAbsent: true })).rejects.toBeInstanceOf(AlreadyExistsError);
      expect((await repo.getBytes('k.json')).toString()).toBe('first');
    } finally {
      await repo.close();
    }
  });

  it('with conditional writes, of 8 writers racing for one key exactly one publishes; a body larger than a part is one PutObject', async ({ skip }) => {
    if (!s3.capabilities.conditionalWrites) return skip('the store ignores If-None-Match: only the lookup above applies');
    const repo = repoAt('conditional');
    repo.exclusiveCreate = true;
    try {
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => repo.putBytes('k.json', `writer ${i}`, { ifAbsent: true })));
      expect(settledWinners(results)).toBe(1);
      expect(refusedAll(results)).toBe(true);
      expect((await repo.getBytes('k.json')).toString()).toBe(`writer ${results.findIndex((r) => r.status === 'fulfilled')}`);
      // 16 MB and a byte, over the harness's 5 MB parts: a multipart upload would not carry the condition
      const big = randomBytes(16 * 1024 * 1024 + 1);
      expect(await repo.put('seg', Readable.from([big.subarray(0, 7_000_000), big.subarray(7_000_000)]), { ifAbsent: true })).toMatchObject({ size: big.length, sha256: sha(big) });
      expect(sha(await repo.getBytes('seg'))).toBe(sha(big));
      await expect(repo.put('seg', Readable.from([Buffer.from('other')]), { ifAbsent: true })).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(sha(await repo.getBytes('seg'))).toBe(sha(big));
    } finally {
      await repo.close();
    }
  });

  it('refuses a conditional put whose body outgrows what it may hold in memory, before sending anything', async () => {
    const client = clientFor(s3);
    try {
      const err = await conditionalPut({ client, bucket: s3.bucket, key: 'limit/k', body: Readable.from([randomBytes(4096)]), maxBytes: 1024 }).catch((e: unknown) => e);
      expect((err as { error: PgopsError }).error.message).toBe(`cannot publish s3://${s3.bucket}/limit/k without overwriting: it is larger than 1024 bytes, the most a conditional write holds in memory`);
      const repo = repoAt('limit');
      expect(await repo.exists('k')).toBe(false);
      await repo.close();
    } finally {
      client.destroy();
    }
  });
});
