import { ExitCode, PgopsError, messageOf } from '../errors.ts';
import { describeSse, type SseParams } from './s3-sse.ts';

// What a failed request was doing, for the message.
export interface S3ErrorContext {
  action: string;
  bucket: string;
  endpoint: string;
  key?: string;
  /** the request writes an object (a refusal may be a bucket policy that requires encryption) */
  write?: boolean;
  /** the server-side encryption the request carried */
  sse?: SseParams;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  errors?: unknown[];
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);
const CREDENTIAL_ERRORS = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
]);

// Turns an error of the S3 SDK (or of the network under it) into a PgopsError with a hint.
export function s3Error(err: unknown, ctx: S3ErrorContext): PgopsError {
  if (err instanceof PgopsError) return err;
  const e = (err ?? {}) as SdkError;
  const what = ctx.key ? `${ctx.action} ${ctx.key}` : ctx.action;
  const network = networkReason(err);
  if (network) {
    return new PgopsError(`cannot reach S3 endpoint ${ctx.endpoint}: ${network}`, {
      code: ExitCode.UNKNOWN,
      hint: 'check --s3-endpoint / AWS_ENDPOINT_URL_S3 and the network; each request was tried --s3-max-attempts times with backoff',
      cause: err,
    });
  }
  if (e.name === 'NoSuchBucket') {
    return new PgopsError(`bucket "${ctx.bucket}" does not exist at ${ctx.endpoint}`, {
      code: ExitCode.UNKNOWN,
      hint: `create it (aws s3 mb s3://${ctx.bucket}) or fix the bucket in --repo s3://bucket/prefix`,
      cause: err,
    });
  }
  if (isKmsError(e)) {
    const key = ctx.sse?.SSEKMSKeyId ?? (ctx.sse?.ServerSideEncryption === 'aws:kms' ? 'aws/s3' : "of the object's encryption");
    return new PgopsError(`s3 ${what} failed: the KMS key ${key} was refused (${e.name}): ${messageOf(err)}`, {
      code: ExitCode.UNKNOWN,
      hint: "check --s3-sse-kms-key-id (a key id, alias/NAME or ARN of a key in the bucket's region) and that the credentials may use the key: kms:GenerateDataKey to write, kms:Decrypt to read",
      cause: err,
    });
  }
  if (CREDENTIAL_ERRORS.has(e.name ?? '') || e.$metadata?.httpStatusCode === 403) {
    const hint = 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and that they may read, write, list and delete in the bucket';
    return new PgopsError(`access to s3://${ctx.bucket} was refused (${e.name}): ${messageOf(err)}`, {
      code: ExitCode.UNKNOWN,
      hint: ctx.write ? `${hint}; ${encryptionPolicyHint(ctx.sse)}` : hint,
      cause: err,
    });
  }
  const status = e.$metadata?.httpStatusCode;
  if (ctx.write && ctx.sse?.ServerSideEncryption && (status === 400 || status === 501)) {
    // the store does not take the encryption headers (RGW without a KMS backend, or over plain HTTP)
    return new PgopsError(`s3 ${what} failed: the store refused server-side encryption ${describeSse(ctx.sse)} (${e.name ?? 'Error'}, HTTP ${status}): ${messageOf(err)}`, {
      code: ExitCode.UNKNOWN,
      hint: 'check --s3-sse and --s3-sse-kms-key-id against what the store supports (Ceph RGW: SSE-KMS needs rgw_crypt_s3_kms_backend and a key id, and HTTPS unless rgw_crypt_require_ssl = false), or leave --s3-sse out',
      cause: err,
    });
  }
  return new PgopsError(`s3 ${what} failed: ${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${messageOf(err)}`, {
    code: ExitCode.FAILED,
    hint: `the request went to ${ctx.endpoint}, bucket ${ctx.bucket}; retry, or check the S3 service's status and logs`,
    cause: err,
  });
}

// What to check when a write is refused: a bucket policy may require encryption (or other encryption than given).
function encryptionPolicyHint(sse: SseParams | undefined): string {
  if (!sse?.ServerSideEncryption) {
    return 'a bucket policy that requires encryption refuses unencrypted writes: pass --s3-sse aws:kms (with --s3-sse-kms-key-id KEY) or --s3-sse AES256, as the policy asks';
  }
  return `a bucket policy may require other encryption than ${describeSse(sse)}: check --s3-sse and --s3-sse-kms-key-id against it`;
}

// An error of the KMS key behind SSE-KMS: AWS's KMS.* codes (KMS.NotFoundException, KMS.DisabledException, ...), an
// AccessDenied naming a kms: action, or RGW's "Failed to retrieve the actual key, kms-keyid: ...".
function isKmsError(e: SdkError): boolean {
  if ((e.name ?? '').startsWith('KMS.')) return true;
  return /\bkms:[a-z]|\bkms-keyid\b/i.test(e.message ?? '');
}

// A 404 from S3: the key (or, for HEAD, possibly the bucket) does not exist.
export function isNotFound(err: unknown): boolean {
  const e = (err ?? {}) as SdkError;
  if (e.name === 'NoSuchBucket') return false;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

// A 412 from S3: the condition of a conditional write (If-None-Match: *) failed, the key exists.
export function isPreconditionFailed(err: unknown): boolean {
  const e = (err ?? {}) as SdkError;
  return e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412;
}

// A 409 ConditionalRequestConflict from AWS: another conditional write to the key was in flight; retry.
export function isConditionalConflict(err: unknown): boolean {
  const e = (err ?? {}) as SdkError;
  return e.name === 'ConditionalRequestConflict' || e.$metadata?.httpStatusCode === 409;
}

// A store that does not know the request or its header (501 NotImplemented, 400 on the header): conditional writes
// are not supported there.
export function isUnsupported(err: unknown): boolean {
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  return e.name === 'NotImplemented' || status === 501 || status === 400;
}

// The network failure inside an error (connection refused, no such host, timeout), or undefined.
function networkReason(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as SdkError;
  // an answer from the server is not a network failure, whatever it says
  if (e.$metadata?.httpStatusCode) return undefined;
  if (e.name === 'TimeoutError' || (e.code && NETWORK_CODES.has(e.code))) return e.message || e.code;
  for (const inner of [e.cause, ...(e.errors ?? [])]) {
    const reason = networkReason(inner, depth + 1);
    if (reason) return reason;
  }
  return undefined;
}
