import {
  DeleteObjectsCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectRetentionCommand,
  type ObjectLockRetentionMode,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ExitCode, PgopsError, messageOf, usageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { OptionsOf } from '../options.ts';
import type { RepoObjectLock } from './identity.ts';
import { LEASE_FILE, isTempKey } from './layout.ts';
import type { Repo } from './repo.ts';
import type { S3Repo } from './s3.ts';

// S3 object lock (repo init --s3-object-lock DURATION --s3-object-lock-mode MODE, recorded in pgops-repo.json's
// objectLock): every object of a set, of a base backup and every archived WAL file is written with a retention of its
// write time plus DURATION, so that no credential (COMPLIANCE: not even the account's root) deletes or overwrites a
// version of it before then. The store enforces it; pgops asks for it on every write and plans around it in prune.
//
// Which keys carry it (lockedKey): everything below backups/<database>/<id>/, basebackups/<system>/<id>/ and
// wal/<system>/, except what a healthy run rewrites or removes: a set's lease.json (renewed every minute, deleted
// once the manifest is committed). Never pgops-repo.json (repo init may rewrite it), drill reports, partition
// archives, nor the probe objects of repo init and backup: they are deleted right after they are written. A WAL data
// object that a push deletes again after losing a race (lib/tasks/wal/publish.ts) is locked like any other: its
// version stays until its retention ends, as a noncurrent version nobody reads.
//
// A locked bucket is versioned: deleting a key only adds a delete marker and keeps the data, so prune deletes the
// versions of what it prunes (ObjectLockStore), after it made sure none of them is still retained.

// Whether a write of key (relative to the repository root) carries the retention.
export function lockedKey(key: string): boolean {
  if (isTempKey(key)) return false;
  const parts = key.split('/');
  if (parts[0] === 'wal') return parts.length === 3 && parts[2] !== '';
  if (parts[0] !== 'backups' && parts[0] !== 'basebackups') return false;
  // backups/<database>/<id>/<file...>: the lease is the set's only object that is rewritten and removed
  return parts.length >= 4 && !(parts.length === 4 && parts[3] === LEASE_FILE);
}

// The object lock fields of a PutObject or CreateMultipartUpload.
export interface RetentionHeaders {
  ObjectLockMode: ObjectLockRetentionMode;
  ObjectLockRetainUntilDate: Date;
}

// The retention a write made at now carries: the repository's mode, until now plus its duration.
export function retentionHeaders(lock: RepoObjectLock, now: Date): RetentionHeaders {
  return { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: new Date(now.getTime() + lock.seconds * 1000) };
}

// Sets the retention of a version again after it was written: RGW 16 ignores the object lock headers of a
// CreateMultipartUpload (the object it completes has none, or the bucket's default). Asking again for what the
// headers asked shortens nothing, so a COMPLIANCE writer may. A store that refuses (a default retention of another
// mode) is fine when the version is retained at least as long already.
export async function retainVersion(client: S3Client, bucket: string, key: string, versionId: string | undefined, retention: RetentionHeaders): Promise<void> {
  try {
    await client.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: key, VersionId: versionId, Retention: { Mode: retention.ObjectLockMode, RetainUntilDate: retention.ObjectLockRetainUntilDate } }));
  } catch (err) {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId })).catch(() => undefined);
    const until = head?.ObjectLockRetainUntilDate;
    if (until && until.getTime() >= retention.ObjectLockRetainUntilDate.getTime()) return;
    throw err;
  }
}

// The options repo init reads, as they arrive: the duration in milliseconds, the mode in lowercase.
export type ObjectLockOptions = Pick<OptionsOf<'repo-init'>, 's3ObjectLock' | 's3ObjectLockMode'>;

const HINT_ENABLE =
  'object lock can only be turned on when a bucket is created on most stores: create a new one with aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket (Ceph RGW, MinIO alike) and point --repo at it; on AWS an existing bucket can get it since 2023: enable versioning, then aws s3api put-object-lock-configuration --bucket NAME --object-lock-configuration ObjectLockEnabled=Enabled';

// repo init: the retention --s3-object-lock and --s3-object-lock-mode ask for, checked against the bucket, to record
// in pgops-repo.json; undefined when neither is given. Refuses (exit 3) one without the other, a file:// repository
// and a bucket without object lock enabled. No probe object is written: a COMPLIANCE one could never be deleted.
export async function checkObjectLockSetting(repo: Repo, options: ObjectLockOptions, log: Logger): Promise<RepoObjectLock | undefined> {
  const ms = options.s3ObjectLock;
  const mode = options.s3ObjectLockMode;
  if (ms === undefined && mode === undefined) return undefined;
  if (ms === undefined) throw usageError(`--s3-object-lock-mode ${mode} needs --s3-object-lock DURATION: how long each object is retained`, `add --s3-object-lock 30d (how long after its write no credential may delete an object)`);
  if (mode === undefined) {
    throw usageError(
      `--s3-object-lock ${durationText(ms)} needs --s3-object-lock-mode compliance or governance`,
      'compliance: no credential, the account root included, deletes or shortens a retention (ransomware-proof); governance: a credential with s3:BypassGovernanceRetention can (mistake-proof)',
    );
  }
  if (ms < 1000) throw usageError(`invalid --s3-object-lock ${ms}ms: a retention is at least 1s`, 'write a duration like 7d or 30d');
  if (repo.kind !== 's3') {
    throw usageError(`--s3-object-lock needs an s3:// repository: ${repo.url} is a folder, which has no object lock`, 'object lock is an S3 feature: use an s3://bucket/prefix repository whose bucket has object lock enabled, or leave --s3-object-lock out');
  }
  const s3 = s3RepoOf(repo);
  const config = await s3.locks.configuration();
  if (!config.enabled) {
    throw new PgopsError(`bucket ${s3.bucket} does not have object lock enabled: --s3-object-lock cannot retain what pgops writes there`, { code: ExitCode.UNKNOWN, hint: HINT_ENABLE });
  }
  const lock: RepoObjectLock = { mode: mode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE', duration: durationText(ms), seconds: Math.ceil(ms / 1000) };
  if (config.defaultRetention) {
    const d = config.defaultRetention;
    log.warn(
      'object-lock',
      `bucket ${s3.bucket} has a default retention of its own (${d.mode} ${d.text}): objects written without one are locked by it too (pgops-repo.json, the leases of running backups, drill reports, probe objects); sets and WAL get pgops's ${lock.mode} ${lock.duration}`,
      { bucket: s3.bucket, defaultMode: d.mode, defaultRetention: d.text, hint: "a set becomes deletable only when every version of its objects, the lease's included, is out of retention: keep the bucket's default at most as long as --s3-object-lock, or remove it" },
    );
  }
  return lock;
}

// A duration in the unit it was most likely written in: 30d, 36h, 90m, 45s.
export function durationText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

// The S3Repo under a repository (an encrypted one wraps it: lib/repo/sealed.ts keeps it as raw).
export function s3RepoOf(repo: Repo): S3Repo {
  let r = repo as Repo & { raw?: Repo };
  while (r.raw) r = r.raw as Repo & { raw?: Repo };
  return r as unknown as S3Repo;
}

// The object lock a repository's writes carry, when it is an s3 repository initialised with --s3-object-lock.
export function objectLockOf(repo: Repo): RepoObjectLock | undefined {
  return repo.kind === 's3' ? s3RepoOf(repo).objectLock : undefined;
}

// The bucket's object lock configuration: enabled, and its default retention when it has one.
export interface BucketLockConfiguration {
  enabled: boolean;
  defaultRetention?: { mode: string; text: string };
}

// One version of an object (or a delete marker) as ListObjectVersions returns it, key relative to the repository.
export interface StoredVersion {
  key: string;
  versionId: string;
  size: number;
  modified: Date;
  deleteMarker: boolean;
}

// What holds a version: its retention (until, when it has one) and a legal hold.
export interface VersionLock {
  mode?: string;
  until?: Date;
  legalHold: boolean;
}

// Whether a version's lock still holds at now.
export function holds(lock: VersionLock, now: Date): boolean {
  return lock.legalHold || (lock.until !== undefined && lock.until.getTime() > now.getTime());
}

// What an S3Repo hands its ObjectLockStore.
export interface LockStoreContext {
  client: S3Client;
  bucket: string;
  /** the repository's key prefix with its slash ('' for the bucket root) */
  root: string;
  fail(err: unknown, action: string, key?: string): PgopsError;
  /** keys per ListObjectVersions page (S3's maximum is 1000) */
  pageSize?: number;
}

// DeleteObjects takes at most 1000 keys.
const DELETE_BATCH = 1000;

// The requests object lock needs beyond the Repo interface: the bucket's configuration, the versions under a folder,
// what holds each of them, and their deletion. Keys are relative to the repository root, as everywhere.
export class ObjectLockStore {
  constructor(private readonly s: LockStoreContext) {}

  /** GetObjectLockConfiguration; a bucket without one answers 404 ObjectLockConfigurationNotFoundError */
  async configuration(): Promise<BucketLockConfiguration> {
    try {
      const res = await this.s.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.s.bucket }));
      const rule = res.ObjectLockConfiguration?.Rule?.DefaultRetention;
      const enabled = res.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
      if (!rule?.Mode) return { enabled };
      const text = rule.Days ? `${rule.Days} day(s)` : `${rule.Years} year(s)`;
      return { enabled, defaultRetention: { mode: rule.Mode, text } };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'ObjectLockConfigurationNotFoundError' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket')) return { enabled: false };
      throw this.s.fail(err, "reading of the object lock configuration (s3:GetBucketObjectLockConfiguration) of bucket");
    }
  }

  /** every version and delete marker below prefix (a folder: 'backups/app/20261122T031700Z/'), in no particular order */
  async versions(prefix: string): Promise<StoredVersion[]> {
    const listPrefix = this.s.root + prefix;
    const out: StoredVersion[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    try {
      do {
        const res = await this.s.client.send(
          new ListObjectVersionsCommand({ Bucket: this.s.bucket, Prefix: listPrefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker, MaxKeys: this.s.pageSize }),
        );
        for (const v of res.Versions ?? []) {
          if (v.Key && v.VersionId) out.push({ key: v.Key.slice(this.s.root.length), versionId: v.VersionId, size: v.Size ?? 0, modified: v.LastModified ?? new Date(0), deleteMarker: false });
        }
        for (const m of res.DeleteMarkers ?? []) {
          if (m.Key && m.VersionId) out.push({ key: m.Key.slice(this.s.root.length), versionId: m.VersionId, size: 0, modified: m.LastModified ?? new Date(0), deleteMarker: true });
        }
        keyMarker = res.IsTruncated ? res.NextKeyMarker : undefined;
        versionMarker = res.IsTruncated ? res.NextVersionIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      throw this.s.fail(err, 'listing of the object versions (s3:ListBucketVersions) of', listPrefix);
    }
    return out;
  }

  /** what holds a version (HeadObject: s3:GetObjectRetention and s3:GetObjectLegalHold make its answer show it); a delete marker holds nothing */
  async lockOf(v: StoredVersion): Promise<VersionLock> {
    if (v.deleteMarker) return { legalHold: false };
    const key = this.s.root + v.key;
    try {
      const res = await this.s.client.send(new HeadObjectCommand({ Bucket: this.s.bucket, Key: key, VersionId: v.versionId }));
      return { mode: res.ObjectLockMode, until: res.ObjectLockRetainUntilDate, legalHold: res.ObjectLockLegalHoldStatus === 'ON' };
    } catch (err) {
      // deleted since it was listed: nothing left to hold
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return { legalHold: false };
      throw this.s.fail(err, `lookup of the retention of version ${v.versionId} of`, key);
    }
  }

  /**
   * Deletes the versions (DeleteObjects with version ids: s3:DeleteObjectVersion), delete markers last, so that a key
   * never shows an older version again while its newer ones remain; throws naming the first version refused.
   */
  async deleteVersions(versions: readonly StoredVersion[]): Promise<void> {
    const ordered = [...versions.filter((v) => !v.deleteMarker), ...versions.filter((v) => v.deleteMarker)];
    for (let i = 0; i < ordered.length; i += DELETE_BATCH) {
      const batch = ordered.slice(i, i + DELETE_BATCH);
      let errors: { Key?: string; VersionId?: string; Code?: string; Message?: string }[];
      try {
        const res = await this.s.client.send(
          new DeleteObjectsCommand({ Bucket: this.s.bucket, Delete: { Quiet: true, Objects: batch.map((v) => ({ Key: this.s.root + v.key, VersionId: v.versionId })) } }),
        );
        errors = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchVersion' && e.Code !== 'NoSuchKey');
      } catch (err) {
        throw this.s.fail(err, `delete of ${batch.length} object version(s) below`, commonFolder(batch.map((v) => this.s.root + v.key)));
      }
      if (errors.length) {
        const e = errors[0];
        throw new PgopsError(`s3://${this.s.bucket}/${e.Key} version ${e.VersionId} was not deleted (${e.Code}: ${e.Message ?? 'no message'})${errors.length > 1 ? `, nor ${errors.length - 1} more version(s)` : ''}`, {
          code: ExitCode.FAILED,
          hint: e.Code === 'AccessDenied'
            ? 'it is under a retention or legal hold that the plan did not see, or the credential lacks s3:DeleteObjectVersion: look at it with aws s3api head-object --version-id, then run pgops prune --execute again'
            : 'retry; check the S3 service status and logs',
        });
      }
    }
  }
}

// The folder all keys share, for messages.
function commonFolder(keys: string[]): string {
  if (keys.length === 0) return '';
  let common = keys[0];
  for (const k of keys) while (!k.startsWith(common)) common = common.slice(0, -1);
  return common.slice(0, common.lastIndexOf('/') + 1) || common;
}

// The message of a failed cleanup, with its status.
export function refusalOf(err: unknown): string {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return `${status ? `HTTP ${status}: ` : ''}${messageOf(err)}`;
}
