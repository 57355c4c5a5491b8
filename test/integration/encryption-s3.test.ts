import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../lib/age/index.ts';
import { runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { clientFor } from '../support/s3-capabilities.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';
import { serverWritableDir, sha256, switchWal } from '../support/wal.ts';

// An encrypted repository in S3, on s3rver and on RGW: a backup's multipart upload and a compressed WAL file are
// stored as age files that hold no plaintext, and restore and wal fetch read them back with the identity.

const CANARY = 'CANARY-s3-plaintext-51c2e0';
let cluster: Cluster;
let work: string;
let identityFile: string;
let recipient: string;

beforeAll(async () => {
  work = serverWritableDir('pgops-enc-s3-');
  const k = generateIdentity();
  identityFile = path.join(work, 'key.txt');
  fs.writeFileSync(identityFile, `${k.identity}\n`, { mode: 0o600 });
  recipient = k.recipient;
  cluster = await startCluster({ settings: { wal_level: 'replica' } });
  await cluster.query('CREATE DATABASE app');
  // incompressible rows, so that the dump spans several 5 MB parts of a multipart upload
  await cluster.query(`CREATE TABLE secrets AS SELECT g AS id, '${CANARY}-' || g || '-' || encode(gen_random_bytes(600), 'base64') AS v FROM generate_series(1, 20000) g`, [], 'app').catch(async () => {
    await cluster.query('CREATE EXTENSION pgcrypto', [], 'app');
    await cluster.query(`CREATE TABLE secrets AS SELECT g AS id, '${CANARY}-' || g || '-' || encode(gen_random_bytes(600), 'base64') AS v FROM generate_series(1, 20000) g`, [], 'app');
  });
});

afterAll(async () => {
  await cluster?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function storedObjects(client: S3Client, bucket: string, prefix: string): Promise<{ key: string; body: Buffer }[]> {
  const out: { key: string; body: Buffer }[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of res.Contents ?? []) {
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      out.push({ key: o.Key!, body: Buffer.from(await got.Body!.transformToByteArray()) });
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out;
}

describe.each(S3_SERVERS)('an encrypted S3 repository on $name', ({ name, start }) => {
  let s3: S3Server;
  let client: S3Client;
  const prefix = `enc-${name}`;
  const env = () => ({ ...s3.env, PGOPS_S3_ENDPOINT: s3.endpoint, PGOPS_S3_PATH_STYLE: 'true', PGOPS_S3_CHECKSUM: 'when-required', PGOPS_S3_PART_SIZE: '5MB' });
  const cli = (...args: string[]) => runCli(args, env());

  beforeAll(async () => {
    s3 = await start();
    client = clientFor(s3);
    // the SDK reads its credentials from process.env
    Object.assign(process.env, s3.env);
  });
  afterAll(async () => s3?.stop());

  it('backs up, archives a WAL file (gzip), restores and fetches them with the identity; no object holds the plaintext', async () => {
    const url = s3.repoUrl(prefix);
    const init = await cli('repo', 'init', '--repo', url, '--encrypt-to', recipient);
    expect(init.exitCode, init.stderr).toBe(0);
    const b = await cli('backup', '--db', cluster.url('app'), '--repo', url);
    expect(b.exitCode, b.stderr).toBe(0);
    const segment = await switchWal(cluster);
    const walFile = path.join(path.join(cluster.dir, 'data'), 'pg_wal', segment);
    const push = await cli('wal', 'push', walFile, '--repo', url, '--pgdata', path.join(cluster.dir, 'data'), '--wal-compress', 'gzip', '--json');
    expect(push.exitCode, push.stderr).toBe(0);

    const objects = await storedObjects(client, s3.bucket, `${prefix}/`);
    const dump = objects.find((o) => o.key.endsWith('/dump'))!;
    expect(dump.body.length).toBeGreaterThan(10 * 1024 * 1024);
    expect(dump.body.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    for (const o of objects) expect(o.body.includes(CANARY), o.key).toBe(false);

    const dest = path.join(work, `fetched-${name}`);
    const f = await cli('wal', 'fetch', segment, dest, '--repo', url, '--pgdata', path.join(cluster.dir, 'data'), '--identity', identityFile);
    expect(f.exitCode, f.stderr).toBe(0);
    expect(sha256(fs.readFileSync(dest))).toBe(sha256(fs.readFileSync(walFile)));

    const r = await cli('restore', '--repo', url, '--to', cluster.url(`restored_${name}`), '--create', '--identity', identityFile);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = await cluster.query<{ n: string }>(`SELECT count(*) AS n FROM secrets WHERE v LIKE '${CANARY}-%'`, [], `restored_${name}`);
    expect(rows[0].n).toBe('20000');

    const v = await cli('verify', '--repo', url);
    expect(v.exitCode, v.stdout).toBe(0);
    const deep = await cli('verify', '--repo', url, '--deep', '--identity', identityFile);
    expect(deep.exitCode, deep.stdout).toBe(0);
  }, 120_000);
});
