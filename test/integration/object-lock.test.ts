import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutObjectRetentionCommand,
  S3Client,
  type ObjectVersion,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.ts';
import { openRepo } from '../../lib/repo/open.ts';
import type { Repo } from '../../lib/repo/repo.ts';
import { jsonData, runCli, type CliResult } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { RGW_OWNER_UID, createRgwUser, rgwUserArn, startRgwServer, type RgwServer } from '../support/rgw.ts';
import { segmentNames, writeBaseBackup, writeWalFile } from '../support/synthetic-basebackups.ts';
import { switchWal } from '../support/wal.ts';

// S3 object lock on Ceph RGW, which enforces it: repo init checks the bucket, every object of a set and every pushed
// WAL file carries the retention (written with a credential that may not delete), nothing deletes a locked version,
// and prune keeps what is retained, says until when, and deletes every version of what is not.
const DAY = 86_400_000;
const LOCKED = 'pgops-locked';
const WRITER = 'pgops-writer';
// a synthetic system for the WAL of base backups written straight into the repository
const SYSTEM = '7300000000000000001';

let s3: RgwServer;
let cluster: Cluster;
let owner: S3Client;
type Keys = { accessKeyId: string; secretAccessKey: string };
let ownerKeys: Keys;
let writerKeys: Keys;
let tmp: string;
// the first set of the COMPLIANCE repository
let firstSet: string;

const compliance = () => `s3://${LOCKED}/compliance`;
const governance = () => `s3://${LOCKED}/governance`;

// Runs pgops with these keys (the SDK's credential chain reads them from the environment) against the gateway.
async function pgops(args: string[], keys: Keys = ownerKeys): Promise<CliResult> {
  const saved = [process.env.AWS_ACCESS_KEY_ID, process.env.AWS_SECRET_ACCESS_KEY];
  process.env.AWS_ACCESS_KEY_ID = keys.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = keys.secretAccessKey;
  try {
    return await runCli(args, {
      PGOPS_S3_ENDPOINT: s3.endpoint,
      PGOPS_S3_PATH_STYLE: 'true',
      PGOPS_S3_CHECKSUM: 'when-required',
      PGOPS_S3_REGION: s3.env.AWS_REGION,
      // a 16 MB WAL segment is then a multipart upload
      PGOPS_S3_PART_SIZE: '5MB',
    });
  } finally {
    [process.env.AWS_ACCESS_KEY_ID, process.env.AWS_SECRET_ACCESS_KEY] = saved;
  }
}

// Every version and delete marker below a prefix of the locked bucket.
async function versionsBelow(prefix: string): Promise<{ versions: ObjectVersion[]; markers: number }> {
  const res = await owner.send(new ListObjectVersionsCommand({ Bucket: LOCKED, Prefix: prefix }));
  expect(res.IsTruncated).toBeFalsy();
  return { versions: res.Versions ?? [], markers: res.DeleteMarkers?.length ?? 0 };
}

async function head(key: string, versionId?: string) {
  return owner.send(new HeadObjectCommand({ Bucket: LOCKED, Key: key, VersionId: versionId }));
}

// The HTTP status a request was refused with (undefined: it succeeded).
async function refusal(request: Promise<unknown>): Promise<number | undefined> {
  return request.then(
    () => undefined,
    (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode ?? -1,
  );
}

async function backup(repo: string, keys: Keys = ownerKeys): Promise<string> {
  return (await backupRun(repo, keys)).id;
}

async function backupRun(repo: string, keys: Keys): Promise<{ id: string; stderr: string }> {
  const r = await pgops(['backup', '--db', cluster.url('app'), '--repo', repo, '--json'], keys);
  expect(r.exitCode, r.stderr).toBe(0);
  return { id: jsonData(r.stdout).backupId as string, stderr: r.stderr };
}

// Shortens the retention of every version below prefix to a moment just ahead (GOVERNANCE with the owner's bypass:
// S3 refuses a retain-until date in the past) and waits until that moment has passed.
async function expireRetention(prefixes: string[]): Promise<void> {
  const until = new Date(Date.now() + 2_000);
  for (const prefix of prefixes) {
    for (const v of (await versionsBelow(prefix)).versions) {
      await owner.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: v.Key, VersionId: v.VersionId, BypassGovernanceRetention: true, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until } }));
    }
  }
  while (Date.now() <= until.getTime() + 200) await new Promise((r) => setTimeout(r, 100));
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-lock-'));
  [s3, cluster] = await Promise.all([startRgwServer(), startCluster()]);
  ownerKeys = { accessKeyId: s3.env.AWS_ACCESS_KEY_ID, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY };
  owner = new S3Client({ endpoint: s3.endpoint, region: s3.env.AWS_REGION, forcePathStyle: true, credentials: ownerKeys, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  await owner.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
  // the runbook's write-only credential: it writes, reads and lists, and may set a retention (which never shortens
  // one: COMPLIANCE cannot be shortened, GOVERNANCE only with s3:BypassGovernanceRetention); it deletes nothing
  writerKeys = await createRgwUser(s3, WRITER);
  const bucket = `arn:aws:s3:::${LOCKED}`;
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: [rgwUserArn(WRITER)] }, Action: ['s3:PutObject', 's3:PutObjectRetention', 's3:GetObject', 's3:ListBucket'], Resource: [bucket, `${bucket}/*`] },
      // RGW makes the writer the owner of what it writes: the bucket's owner reads and deletes it by this grant
      { Effect: 'Allow', Principal: { AWS: [rgwUserArn(RGW_OWNER_UID)] }, Action: ['s3:*'], Resource: [bucket, `${bucket}/*`] },
    ],
  };
  await owner.send(new PutBucketPolicyCommand({ Bucket: LOCKED, Policy: JSON.stringify(policy) }));
  await cluster.query('CREATE DATABASE app');
  await cluster.query('CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 1000) g', [], 'app');
});

afterAll(async () => {
  owner?.destroy();
  await Promise.all([s3?.stop(), cluster?.stop()]);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('repo init --s3-object-lock', () => {
  it('refuses a bucket without object lock, naming it, and says how to get one', async () => {
    const r = await pgops(['repo', 'init', '--repo', s3.repoUrl('plain'), '--s3-object-lock', '1d', '--s3-object-lock-mode', 'governance']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`bucket ${s3.bucket} does not have object lock enabled`);
    expect(r.stderr).toContain('--object-lock-enabled-for-bucket');
    // nothing was written
    expect(await refusal(owner.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'plain/pgops-repo.json' })))).toBe(404);
  });

  it('refuses a mode without a duration, and a folder repository', async () => {
    const noDuration = await pgops(['repo', 'init', '--repo', compliance(), '--s3-object-lock-mode', 'compliance']);
    expect(noDuration.exitCode).toBe(3);
    expect(noDuration.stderr).toContain('needs --s3-object-lock DURATION');
    const folder = await pgops(['repo', 'init', '--repo', `file://${tmp}/repo`, '--s3-object-lock', '1d', '--s3-object-lock-mode', 'compliance']);
    expect(folder.exitCode).toBe(3);
    expect(folder.stderr).toContain('needs an s3:// repository');
  });

  it('records the retention in pgops-repo.json on a bucket with object lock, which itself is not locked', async () => {
    const r = await pgops(['repo', 'init', '--repo', compliance(), '--s3-object-lock', '1d', '--s3-object-lock-mode', 'compliance', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonData(r.stdout).identity.objectLock).toEqual({ mode: 'COMPLIANCE', duration: '1d', seconds: 86_400 });
    const stored = JSON.parse(await (await owner.send(new GetObjectCommand({ Bucket: LOCKED, Key: 'compliance/pgops-repo.json' }))).Body!.transformToString());
    expect(stored.objectLock).toEqual({ mode: 'COMPLIANCE', duration: '1d', seconds: 86_400 });
    expect((await head('compliance/pgops-repo.json')).ObjectLockMode).toBeUndefined();
    const g = await pgops(['repo', 'init', '--repo', governance(), '--s3-object-lock', '1d', '--s3-object-lock-mode', 'governance']);
    expect(g.exitCode, g.stderr).toBe(0);
  });
});

describe('writes under object lock', () => {

  it('stores every object of a set and a pushed WAL file under the retention, written with a credential that cannot delete', async () => {
    const before = Date.now();
    const run = await backupRun(compliance(), writerKeys);
    firstSet = run.id;
    // what it could not delete, it names, and the backup succeeds all the same
    expect(run.stderr).toContain('could not delete the probe object of a check');
    expect(run.stderr).toContain("could not remove the backup's lease");
    // a real segment of the cluster (16 MB: a multipart upload), pushed as archive_command would
    const segment = await switchWal(cluster);
    const copy = path.join(tmp, segment);
    fs.copyFileSync(path.join(cluster.dir, 'data', 'pg_wal', segment), copy);
    const push = await pgops(['wal', 'push', copy, '--repo', compliance()], writerKeys);
    expect(push.exitCode, push.stderr).toBe(0);
    const after = Date.now();

    const setFolder = `compliance/backups/app/${firstSet}/`;
    const { versions } = await versionsBelow(setFolder);
    const names = versions.map((v) => v.Key!.slice(setFolder.length)).sort();
    expect(names).toEqual(expect.arrayContaining(['dump', 'globals.sql', 'manifest.json']));
    const walObjects = (await versionsBelow('compliance/wal/')).versions;
    expect(walObjects.map((v) => path.posix.basename(v.Key!)).sort()).toEqual([segment, `${segment}.json`]);
    for (const v of [...versions, ...walObjects]) {
      const h = await head(v.Key!, v.VersionId);
      if (v.Key!.endsWith('/lease.json')) {
        // renewed and removed by every backup: never locked (this credential could not remove it)
        expect(h.ObjectLockMode, v.Key).toBeUndefined();
        continue;
      }
      expect(h.ObjectLockMode, v.Key).toBe('COMPLIANCE');
      const until = h.ObjectLockRetainUntilDate!.getTime();
      expect(until, v.Key).toBeGreaterThanOrEqual(before + DAY - 1_000);
      expect(until, v.Key).toBeLessThanOrEqual(after + DAY + 1_000);
    }
    expect((await head('compliance/pgops-repo.json')).ObjectLockMode).toBeUndefined();
  });

  it('refuses to delete a locked version to the writer and to the bucket owner alike, and the data stays readable', async () => {
    const setFolder = `compliance/backups/app/${firstSet}/`;
    const { versions } = await versionsBelow(setFolder);
    const locked = versions.filter((v) => !v.Key!.endsWith('/lease.json'));
    const writer = new S3Client({ endpoint: s3.endpoint, region: s3.env.AWS_REGION, forcePathStyle: true, credentials: writerKeys, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    try {
      for (const v of locked) {
        expect(await refusal(writer.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: v.Key, VersionId: v.VersionId }))), v.Key).toBe(403);
        expect(await refusal(owner.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: v.Key, VersionId: v.VersionId }))), v.Key).toBe(403);
        expect(await refusal(owner.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: v.Key, VersionId: v.VersionId, BypassGovernanceRetention: true }))), v.Key).toBe(403);
        // nor may the writer shorten it, nor even hide it behind a delete marker
        const shorter = new Date(Date.now() + 60_000);
        expect(await refusal(writer.send(new PutObjectRetentionCommand({ Bucket: LOCKED, Key: v.Key, VersionId: v.VersionId, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: shorter } }))), v.Key).toBe(403);
        expect(await refusal(writer.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: v.Key }))), v.Key).toBe(403);
      }
    } finally {
      writer.destroy();
    }
    // every file is there as its manifest lists it; the lease its writer could not remove is at most a warning
    const verify = jsonData(await pgops(['verify', '--repo', compliance(), '--json']).then((r) => r.stdout));
    expect(verify.counts).toMatchObject({ sets: 1, walSystems: 1, damaged: 0, missing: 0 });
    const findings = verify.findings.filter((f: { level: string; key?: string }) => f.level !== 'OK' && f.key !== `backups/app/${firstSet}/lease.json`);
    expect(findings).toEqual([]);
  });
});

describe('prune under object lock', () => {
  it('keeps a set still under retention, says until when, and exits 0', async () => {
    const old = firstSet;
    await backup(compliance(), writerKeys);
    const setFolder = (id: string) => `compliance/backups/app/${id}/`;
    const before = await versionsBelow(setFolder(old));
    const until = (await head(`${setFolder(old)}manifest.json`)).ObjectLockRetainUntilDate!;

    const r = await pgops(['prune', '--repo', compliance(), '--keep-last', '1', '--execute']);
    expect(r.exitCode, r.stderr).toBe(0);
    const expected = new Date(Math.ceil(until.getTime() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(r.stdout).toMatch(new RegExp(`${old}\\s+keep\\s.*locked until ${expected} \\(no rule keeps it\\)`));
    expect(r.stdout).toContain(`the next becomes deletable at ${expected}`);
    expect(r.stdout).toContain('deleted 0 set(s)');

    const j = await pgops(['prune', '--repo', compliance(), '--keep-last', '1', '--execute', '--json']);
    expect(j.exitCode, j.stderr).toBe(0);
    const data = jsonData(j.stdout);
    const decision = data.databases[0].decisions.find((d: { id: string }) => d.id === old);
    expect(decision).toMatchObject({ action: 'keep', lockedUntil: expected });
    expect(data.deleted).toEqual([]);
    expect(data.objectLock).toEqual({ sets: 1, basebackups: 0, walFiles: 0, nextDeletableAt: expected });
    // every version is still there, and no delete marker hides one
    expect(await versionsBelow(setFolder(old))).toEqual(before);
  });

  it('deletes every version of a set once its retention has passed, and keeps the one still retained', async () => {
    const first = await backup(governance());
    const second = await backup(governance());
    const folder = (id: string) => `governance/backups/app/${id}/`;
    expect((await head(`${folder(first)}manifest.json`)).ObjectLockMode).toBe('GOVERNANCE');
    await expireRetention([folder(first)]);

    const r = await pgops(['prune', '--repo', governance(), '--keep-last', '1', '--execute', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonData(r.stdout).deleted).toEqual([first]);
    // the versions are gone, not hidden behind delete markers: the space is freed
    expect(await versionsBelow(folder(first))).toEqual({ versions: [], markers: 0 });
    expect((await versionsBelow(folder(second))).versions.length).toBeGreaterThanOrEqual(3);
  });

  it('keeps base backups and WAL under retention, and deletes what is out of it oldest first', async () => {
    const log = createLogger({ task: 'basebackup', format: 'json', stream: { write: () => true } as never, verbose: false });
    process.env.AWS_ACCESS_KEY_ID = ownerKeys.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = ownerKeys.secretAccessKey;
    const repo: Repo = await openRepo(governance(), { ...s3.options }, log, { writer: true });
    const wal = segmentNames(1, 1, 8);
    try {
      await writeBaseBackup(repo, SYSTEM, '20261101T000000Z', { start: wal[2] });
      await writeBaseBackup(repo, SYSTEM, '20261102T000000Z', { start: wal[5] });
      for (const name of wal) await writeWalFile(repo, SYSTEM, name);
    } finally {
      await repo.close();
    }
    const walPrefix = `governance/wal/${SYSTEM}/`;
    const prune = async () => {
      const r = await pgops(['prune', '--repo', governance(), '--keep-last', '1', '--execute', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      return jsonData(r.stdout);
    };

    // the older base backup is retained: it stays, and so does the WAL it needs; what lies below it is retained too
    const held = await prune();
    expect(held.basebackups[0].decisions.find((d: { id: string }) => d.id === '20261101T000000Z')).toMatchObject({ action: 'keep', lockedUntil: expect.any(String) });
    expect(held.wal[0]).toMatchObject({ delete: { files: 0 }, locked: { files: 2 } });
    expect(held.objectLock).toMatchObject({ basebackups: 1, walFiles: 2, nextDeletableAt: expect.any(String) });

    // out of retention: the base backup and the oldest WAL file; the WAL written after it is still retained
    await expireRetention([`governance/basebackups/${SYSTEM}/20261101T000000Z/`, `${walPrefix}${wal[0]}`]);
    const done = await prune();
    expect(done.basebackupsDeleted).toEqual(['20261101T000000Z']);
    expect(await versionsBelow(`governance/basebackups/${SYSTEM}/20261101T000000Z/`)).toEqual({ versions: [], markers: 0 });
    expect(done.wal[0]).toMatchObject({ delete: { files: 1, first: wal[0], last: wal[0] }, locked: { files: 4 }, deleted: { files: 1 } });
    const left = (await versionsBelow(walPrefix)).versions.map((v) => path.posix.basename(v.Key!).replace(/\.(gz|json)$/, ''));
    expect([...new Set(left)].sort()).toEqual(wal.slice(1));
  });
});
