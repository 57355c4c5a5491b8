import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import type { S3Capabilities, S3Server } from './s3.ts';

// Measures what S3Capabilities claims, by asking the server itself: each probe does the thing and looks at
// the outcome, so a server that accepts a request and then ignores it counts as not capable.
export async function measureCapabilities(server: S3Server): Promise<S3Capabilities> {
  const client = clientFor(server);
  const prefix = `.capabilities-${randomBytes(4).toString('hex')}`;
  try {
    const [multipart, conditionalWrites, objectLock] = [
      await probeMultipart(client, server.bucket, `${prefix}/multipart`),
      await probeConditionalWrite(client, server.bucket, `${prefix}/conditional`),
      await probeObjectLock(client, `${server.bucket}-lock-${randomBytes(3).toString('hex')}`),
    ];
    return { ...multipart, conditionalWrites, objectLock };
  } finally {
    client.destroy();
  }
}

// An S3 client with the server's own keys, path-style, without the checksums neither server needs.
export function clientFor(server: S3Server): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: server.endpoint,
    region: server.env.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: server.env.AWS_ACCESS_KEY_ID, secretAccessKey: server.env.AWS_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

// The upload ids of bucket's multipart uploads in progress under prefix; undefined when the server cannot list them.
export async function multipartUploads(client: S3Client, bucket: string, prefix: string): Promise<string[] | undefined> {
  try {
    const res = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    // a server without the operation may answer the request as a plain bucket listing, without an upload list
    if (res.Bucket === undefined && res.Uploads === undefined) return undefined;
    return (res.Uploads ?? []).map((u) => u.UploadId!);
  } catch {
    return undefined;
  }
}

// Starts an upload with one part: is it listed, and does aborting it make it go away?
async function probeMultipart(client: S3Client, bucket: string, key: string): Promise<Pick<S3Capabilities, 'abortMultipart' | 'listMultipartUploads'>> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(1024) }));
  const before = await multipartUploads(client, bucket, key);
  const listMultipartUploads = before?.includes(UploadId!) ?? false;
  const aborted = await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).then(
    () => true,
    () => false,
  );
  const after = await multipartUploads(client, bucket, key);
  return { listMultipartUploads, abortMultipart: aborted && (!listMultipartUploads || !after?.includes(UploadId!)) };
}

// Writes a key, then writes it again with If-None-Match: *: a capable server refuses with 412 and keeps the first.
async function probeConditionalWrite(client: S3Client, bucket: string, key: string): Promise<boolean> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'first' }));
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'second', IfNoneMatch: '*' }));
    return false;
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412;
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
}

// Creates a bucket with object lock, writes a version under GOVERNANCE retention and tries to delete it:
// a capable server refuses (403) unless the deleter bypasses governance.
async function probeObjectLock(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  } catch {
    return false;
  }
  const until = new Date(Date.now() + 86_400_000);
  const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'locked', Body: 'x', ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until })).catch(() => undefined);
  if (!put?.VersionId) return false;
  const refused = await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'locked', VersionId: put.VersionId })).then(
    () => false,
    (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 403,
  );
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'locked', VersionId: put.VersionId, BypassGovernanceRetention: true })).catch(() => undefined);
  return refused;
}
