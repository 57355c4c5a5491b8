import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../lib/errors.ts';
import { s3Error, type S3ErrorContext } from '../../../lib/repo/s3-errors.ts';

// An error as the S3 SDK throws it: a name (the S3 error code), a message and the HTTP status.
const sdkError = (name: string, status: number, message: string) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
const write: S3ErrorContext = { action: 'upload of', key: 'pgops/wal/1/000000010000000000000003', bucket: 'backups', endpoint: 'https://s3.eu-west-1.amazonaws.com', write: true };
const denied = sdkError('AccessDenied', 403, 'Access Denied');

describe('a refused write names --s3-sse: a bucket policy may require encryption', () => {
  it('without --s3-sse: the hint says to pass it', () => {
    const e = s3Error(denied, write);
    expect(e.code).toBe(ExitCode.UNKNOWN);
    expect(e.message).toBe('access to s3://backups was refused (AccessDenied): Access Denied');
    expect(e.hint).toContain('AWS_ACCESS_KEY_ID');
    expect(e.hint).toContain('a bucket policy that requires encryption refuses unencrypted writes: pass --s3-sse aws:kms (with --s3-sse-kms-key-id KEY) or --s3-sse AES256');
  });

  it('with --s3-sse: the hint says to check it against the policy', () => {
    const e = s3Error(denied, { ...write, sse: { ServerSideEncryption: 'AES256' } });
    expect(e.hint).toContain('a bucket policy may require other encryption than AES256: check --s3-sse and --s3-sse-kms-key-id against it');
  });

  it('a refused read or listing does not talk of encryption', () => {
    const e = s3Error(denied, { action: 'listing of', bucket: 'backups', endpoint: write.endpoint });
    expect(e.hint).not.toContain('--s3-sse');
  });
});

describe("the KMS key's errors name the key and the permissions it takes", () => {
  const kms = { ...write, sse: { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: 'alias/pgops' } };

  it("AWS's KMS.NotFoundException: the key does not exist (in the bucket's region)", () => {
    const e = s3Error(sdkError('KMS.NotFoundException', 400, 'Invalid keyId alias/pgops'), kms);
    expect(e.code).toBe(ExitCode.UNKNOWN);
    expect(e.message).toBe('s3 upload of pgops/wal/1/000000010000000000000003 failed: the KMS key alias/pgops was refused (KMS.NotFoundException): Invalid keyId alias/pgops');
    expect(e.hint).toContain('kms:GenerateDataKey');
  });

  it('an AccessDenied naming a kms: action is about the key, not about the S3 credentials', () => {
    const msg = 'User: arn:aws:iam::111122223333:user/pgops is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:eu-west-1:111122223333:key/1234';
    const e = s3Error(sdkError('AccessDenied', 403, msg), kms);
    expect(e.message).toContain('the KMS key alias/pgops was refused (AccessDenied)');
    const read = s3Error(sdkError('AccessDenied', 403, msg.replace('GenerateDataKey', 'Decrypt')), { action: 'download of', bucket: 'backups', endpoint: write.endpoint });
    expect(read.message).toContain("the KMS key of the object's encryption was refused");
    expect(read.hint).toContain('kms:Decrypt to read');
  });

  it("Ceph RGW's answer for a key it does not know", () => {
    const e = s3Error(sdkError('InvalidAccessKeyId', 403, 'Failed to retrieve the actual key, kms-keyid: nope'), { ...kms, sse: { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'nope' } });
    expect(e.message).toContain('the KMS key nope was refused');
    expect(e.hint).toContain('--s3-sse-kms-key-id');
  });
});

describe('a store that refuses the encryption headers', () => {
  it('says so (exit 3) and names the settings, on a write with --s3-sse', () => {
    const err = sdkError('InvalidArgument', 400, 'Server Side Encryption with KMS managed key requires HTTP header x-amz-server-side-encryption-aws-kms-key-id');
    const e = s3Error(err, { ...write, sse: { ServerSideEncryption: 'aws:kms' } });
    expect(e.code).toBe(ExitCode.UNKNOWN);
    expect(e.message).toMatch(/^s3 upload of \S+ failed: the store refused server-side encryption aws:kms \(InvalidArgument, HTTP 400\): Server Side Encryption/);
    expect(e.hint).toContain('rgw_crypt_s3_kms_backend');
  });

  it('the same answer without --s3-sse stays a failed request', () => {
    const e = s3Error(sdkError('InvalidArgument', 400, 'bad'), write);
    expect(e.code).toBe(ExitCode.FAILED);
    expect(e.message).toBe('s3 upload of pgops/wal/1/000000010000000000000003 failed: InvalidArgument (HTTP 400): bad');
  });
});
