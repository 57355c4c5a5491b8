import fs from 'node:fs';
import path from 'node:path';
import { DeleteBucketPolicyCommand, HeadObjectCommand, ListObjectsV2Command, PutBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readContent } from '../support/compare.ts';
import { runCli, spawnCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { startRecordingProxy } from '../support/recording-proxy.ts';
import { RGW_KMS_KEY_ID, startRgwServer } from '../support/rgw.ts';
import { clientFor } from '../support/s3-capabilities.ts';
import { startS3Server, type S3Server } from '../support/s3.ts';
import { tempDirs } from '../support/temp-dir.ts';
import { syntheticSegment } from '../support/wal.ts';

// The AWS conventions as an operator relies on them: server-side encryption passed through on every object pgops
// writes (checked on the object itself, with HeadObject), a bucket policy that refuses unencrypted writes, and the
// region taken from the environment and the AWS profile when --s3-region is not given.
const DB = 'app';
// a dump smaller than one part: a single PutObject (RGW 16 refuses CreateMultipartUpload under the policy below)
const SMALL_DB = 'small';
const tempDir = tempDirs('pgops-s3-conv-');
let cluster: Cluster;

// The environment a run against one S3 server needs (credentials from s3.env, as the SDK's default chain reads them).
const s3Env = (s3: S3Server) => ({ ...s3.env, PGOPS_S3_ENDPOINT: s3.endpoint, PGOPS_S3_PATH_STYLE: 'true', PGOPS_S3_CHECKSUM: 'when-required', PGOPS_S3_PART_SIZE: '5MB' });
// What a failed run said, message and hint, whichever stream it went to.
const said = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

// Every key under prefix/ in the bucket.
async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const o of res.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0 });
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out;
}

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.query(`CREATE DATABASE ${DB}`);
  // about 9 MB of dump with --compress 0: more than one 5MB part, so the dump is a multipart upload
  cluster.psql(`CREATE TABLE events (id int PRIMARY KEY, v text); INSERT INTO events SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 120000) g;`, DB);
  await cluster.query(`CREATE DATABASE ${SMALL_DB}`);
  cluster.psql(`CREATE TABLE notes (id int PRIMARY KEY, v text); INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 100) g;`, SMALL_DB);
});

afterAll(async () => {
  await cluster?.stop();
});

describe('server-side encryption on Ceph RGW (SSE-KMS with its testing key backend)', () => {
  let s3: S3Server;
  let client: S3Client;
  const kms = ['--s3-sse', 'aws:kms', '--s3-sse-kms-key-id', RGW_KMS_KEY_ID];

  beforeAll(async () => {
    s3 = await startRgwServer();
    Object.assign(process.env, s3.env); // the AWS SDK's default credential chain reads the process environment
    client = clientFor(s3);
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.stop();
  });

  it('stores every object pgops writes encrypted with the KMS key (repository, multipart dump, WAL), and restores from them', async () => {
    const repo = s3.repoUrl('kms');
    const init = await runCli(['repo', 'init', '--repo', repo, ...kms], s3Env(s3));
    expect(init.exitCode, said(init)).toBe(0);
    expect(init.stderr).not.toContain('did not confirm server-side encryption');
    // the key id alone implies aws:kms, here from the environment as a cron job would set it
    const env = { ...s3Env(s3), PGOPS_S3_SSE_KMS_KEY_ID: RGW_KMS_KEY_ID };
    const backup = await runCli(['backup', '--db', cluster.url(DB), '--repo', repo, '--compress', '0'], env);
    expect(backup.exitCode, said(backup)).toBe(0);
    const segment = path.join(tempDir(), '000000010000000000000001');
    fs.writeFileSync(segment, syntheticSegment({ systemId: 7300000000000000001n, timeline: 1, segno: 1 }));
    const push = await runCli(['wal', 'push', segment, '--repo', repo, ...kms], s3Env(s3));
    expect(push.exitCode, said(push)).toBe(0);

    const objects = await keysUnder(client, s3.bucket, 'kms');
    const names = objects.map((o) => o.key);
    expect(names).toContain('kms/pgops-repo.json');
    expect(names.some((k) => /^kms\/backups\/app\/[^/]+\/manifest\.json$/.test(k))).toBe(true);
    expect(names).toContain('kms/wal/7300000000000000001/000000010000000000000001');
    const dump = objects.find((o) => /\/dump/.test(o.key));
    // larger than a part: Upload sent CreateMultipartUpload, whose headers the whole object takes
    expect(dump?.size).toBeGreaterThan(5 * 1024 * 1024);
    for (const { key } of objects) {
      const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
      expect({ key, sse: head.ServerSideEncryption, kmsKey: head.SSEKMSKeyId }).toEqual({ key, sse: 'aws:kms', kmsKey: RGW_KMS_KEY_ID });
    }

    // reads need no option: the store decrypts what the key encrypted
    const restore = await runCli(['restore', '--repo', repo, '--to', cluster.url('restored from kms'), '--create'], s3Env(s3));
    expect(restore.exitCode, said(restore)).toBe(0);
    expect((await readContent(cluster.url('restored from kms'))).tables).toEqual((await readContent(cluster.url(DB))).tables);
  });

  it('under a bucket policy that refuses unencrypted writes: the refusal names --s3-sse, and with it the backup goes through', async () => {
    // the policy AWS documents for "deny unencrypted object uploads", on the prefix enc/ only. RGW 16 evaluates it for
    // PutObject, but refuses every CreateMultipartUpload under it, encrypted or not: the backup here is one small PutObject
    const resource = `arn:aws:s3:::${s3.bucket}/enc/*`;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'DenyOtherEncryption', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: resource, Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } } },
        { Sid: 'DenyUnencrypted', Effect: 'Deny', Principal: '*', Action: 's3:PutObject', Resource: resource, Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } } },
      ],
    };
    await client.send(new PutBucketPolicyCommand({ Bucket: s3.bucket, Policy: JSON.stringify(policy) }));
    try {
      const repo = s3.repoUrl('enc');
      const refused = await runCli(['repo', 'init', '--repo', repo], s3Env(s3));
      expect(refused.exitCode).toBe(3);
      expect(said(refused)).toContain('access to s3://pgops-test was refused (AccessDenied)');
      expect(said(refused)).toContain('a bucket policy that requires encryption refuses unencrypted writes: pass --s3-sse aws:kms');
      const other = await runCli(['repo', 'init', '--repo', repo, '--s3-sse', 'AES256'], s3Env(s3));
      expect(other.exitCode).toBe(3);
      expect(said(other)).toContain('a bucket policy may require other encryption than AES256');

      const init = await runCli(['repo', 'init', '--repo', repo, ...kms], s3Env(s3));
      expect(init.exitCode, said(init)).toBe(0);
      const backup = await runCli(['backup', '--db', cluster.url(SMALL_DB), '--repo', repo, ...kms], s3Env(s3));
      expect(backup.exitCode, said(backup)).toBe(0);
      const list = await runCli(['backups', 'list', '--repo', repo, '--json'], s3Env(s3));
      expect(list.exitCode, said(list)).toBe(0);
      expect(list.stdout).toContain('"complete"');
    } finally {
      await client.send(new DeleteBucketPolicyCommand({ Bucket: s3.bucket }));
    }
  });

  it('a KMS key the store does not know: exit 3 naming the key, and nothing written', async () => {
    const r = await runCli(['repo', 'init', '--repo', s3.repoUrl('nokey'), '--s3-sse-kms-key-id', 'no-such-key'], s3Env(s3));
    expect(r.exitCode).toBe(3);
    expect(said(r)).toContain('the KMS key no-such-key was refused');
    expect(said(r)).toContain('--s3-sse-kms-key-id');
    expect(await keysUnder(client, s3.bucket, 'nokey')).toEqual([]);
  });

  it('AES256 (SSE-S3): warns exactly when the store does not apply it (RGW 16 stores such objects unencrypted)', async () => {
    const r = await runCli(['repo', 'init', '--repo', s3.repoUrl('aes'), '--s3-sse', 'AES256'], s3Env(s3));
    expect(r.exitCode, said(r)).toBe(0);
    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'aes/pgops-repo.json' }));
    const warned = r.stderr.includes('did not confirm server-side encryption AES256');
    expect(warned).toBe(head.ServerSideEncryption !== 'AES256');
  });
});

describe('server-side encryption and the region on s3rver', () => {
  let s3: S3Server;

  beforeAll(async () => {
    s3 = await startS3Server();
    Object.assign(process.env, s3.env);
    for (const prefix of ['sse', 'region']) {
      const r = await runCli(['repo', 'init', '--repo', s3.repoUrl(prefix)], s3Env(s3));
      expect(r.exitCode, said(r)).toBe(0);
    }
  });
  afterAll(() => s3?.stop());

  it('a store that ignores the encryption headers: the backup and the restore still work, with a warning', async () => {
    const repo = s3.repoUrl('sse');
    const sse = ['--s3-sse', 'aws:kms', '--s3-sse-kms-key-id', 'alias/pgops'];
    const backup = await runCli(['backup', '--db', cluster.url(DB), '--repo', repo, '--compress', '0', ...sse], s3Env(s3));
    expect(backup.exitCode, said(backup)).toBe(0);
    expect(backup.stderr).toContain('did not confirm server-side encryption aws:kms with key alias/pgops');
    const restore = await runCli(['restore', '--repo', repo, '--to', cluster.url('restored from s3rver'), '--create', ...sse], s3Env(s3));
    expect(restore.exitCode, said(restore)).toBe(0);
    expect((await readContent(cluster.url('restored from s3rver'))).tables).toEqual((await readContent(cluster.url(DB))).tables);
  });

  it('refuses a KMS key id with --s3-sse AES256 before anything is written', async () => {
    const r = await runCli(['backup', '--db', cluster.url(DB), '--repo', s3.repoUrl('sse'), '--s3-sse', 'AES256', '--s3-sse-kms-key-id', 'alias/pgops'], s3Env(s3));
    expect(r.exitCode).toBe(3);
    expect(said(r)).toContain('--s3-sse-kms-key-id alias/pgops is a KMS key, but --s3-sse is AES256');
  });

  describe('the region a spawned pgops signs its requests for', () => {
    // a process of its own: the SDK reads AWS_PROFILE and AWS_CONFIG_FILE from its environment, as under cron
    const run = async (config: string, extra: NodeJS.ProcessEnv, args: string[] = []) => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'config'), config);
      // the keys in the credentials file, under both profiles, as `aws configure` writes them
      const keys = `aws_access_key_id = ${s3.env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${s3.env.AWS_SECRET_ACCESS_KEY}\n`;
      fs.writeFileSync(path.join(dir, 'credentials'), `[default]\n${keys}\n[prod]\n${keys}`);
      const proxy = await startRecordingProxy(s3.endpoint);
      try {
        const env = {
          AWS_CONFIG_FILE: path.join(dir, 'config'),
          AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials'),
          AWS_EC2_METADATA_DISABLED: 'true',
          PGOPS_S3_ENDPOINT: proxy.endpoint,
          PGOPS_S3_PATH_STYLE: 'true',
          PGOPS_S3_CHECKSUM: 'when-required',
          ...extra,
        };
        const r = await spawnCli(['repo', 'info', '--repo', s3.repoUrl('region'), ...args], env);
        return { exitCode: r.exitCode, all: r.all ?? '', regions: [...new Set(proxy.signedRegions())] };
      } finally {
        await proxy.close();
      }
    };
    const PROFILES = '[default]\nregion = eu-central-1\n\n[profile prod]\nregion = eu-west-3\n';

    it("is the region of the profile AWS_PROFILE names (today's default us-east-1 no longer overrides it)", async () => {
      const r = await run(PROFILES, { AWS_PROFILE: 'prod' });
      expect(r.exitCode, r.all).toBe(0);
      expect(r.regions).toEqual(['eu-west-3']);
    });

    it('AWS_DEFAULT_REGION wins over the profile, --s3-region over both', async () => {
      expect((await run(PROFILES, { AWS_PROFILE: 'prod', AWS_DEFAULT_REGION: 'sa-east-1' })).regions).toEqual(['sa-east-1']);
      expect((await run(PROFILES, { AWS_PROFILE: 'prod', AWS_DEFAULT_REGION: 'sa-east-1' }, ['--s3-region', 'ap-south-1'])).regions).toEqual(['ap-south-1']);
    });

    it('with an --s3-endpoint and nothing naming a region: us-east-1', async () => {
      const r = await run('', {});
      expect(r.exitCode, r.all).toBe(0);
      expect(r.regions).toEqual(['us-east-1']);
    });

    it('for AWS itself with nothing naming a region: exit 3 before any request, saying where a region goes', async () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'config'), '');
      const r = await spawnCli(['repo', 'info', '--repo', 's3://pgops-no-region/x'], {
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'not-a-secret',
        AWS_CONFIG_FILE: path.join(dir, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'config'),
        AWS_EC2_METADATA_DISABLED: 'true',
      });
      expect(r.exitCode, r.all).toBe(3);
      expect(r.all).toContain('no S3 region');
      expect(r.all).toContain('--s3-region');
      expect(r.all).not.toContain('not-a-secret');
    });
  });
});
