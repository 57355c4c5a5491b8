import { usageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { S3Options } from './s3-client.ts';

// Server-side encryption: the headers every object write carries (PutObject, CreateMultipartUpload; the parts of a
// multipart upload inherit them), so that a bucket policy refusing unencrypted writes lets pgops write. The key id is
// no secret (it names a key; using it takes kms:GenerateDataKey), so it may appear in messages.

// The SSE fields of a PutObject or CreateMultipartUpload request; empty without --s3-sse.
export interface SseParams {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
}

// The encryption --s3-sse and --s3-sse-kms-key-id ask for: a key id alone implies aws:kms, with AES256 it is refused.
export function sseParams(options: S3Options): SseParams {
  const keyId = options.s3SseKmsKeyId || undefined;
  const sse = options.s3Sse ?? (keyId ? 'aws:kms' : undefined);
  if (keyId && sse === 'AES256') {
    throw usageError(
      `--s3-sse-kms-key-id ${keyId} is a KMS key, but --s3-sse is AES256 (keys managed by S3)`,
      'for SSE-KMS pass --s3-sse aws:kms (or leave --s3-sse out); for SSE-S3 drop --s3-sse-kms-key-id (and PGOPS_S3_SSE_KMS_KEY_ID, s3-sse-kms-key-id in the config file)',
    );
  }
  if (!sse) return {};
  return keyId ? { ServerSideEncryption: sse, SSEKMSKeyId: keyId } : { ServerSideEncryption: sse };
}

// How the encryption asked for reads in messages: "aws:kms with key alias/pgops", "AES256", or "none".
export function describeSse(sse: SseParams): string {
  if (!sse.ServerSideEncryption) return 'none';
  return sse.SSEKMSKeyId ? `${sse.ServerSideEncryption} with key ${sse.SSEKMSKeyId}` : sse.ServerSideEncryption;
}

// Whether a PutObject's answer confirms the encryption asked for. AWS names the algorithm it applied (and, for
// aws:kms, the key's ARN where an alias or id was given: only the algorithm is compared); a store that ignores the
// headers (s3rver, Ceph RGW 16 with AES256) names none.
export function sseConfirmed(asked: SseParams, answer: { ServerSideEncryption?: string }): boolean {
  return !asked.ServerSideEncryption || answer.ServerSideEncryption === asked.ServerSideEncryption;
}

// Warns (once per probe: repo init, backup) when a PutObject's answer does not confirm the encryption asked for: the
// store ignored the headers, and the objects are stored as its default has them. Not an error: a backup stored so
// is still a backup, and the bucket's policy, not pgops, is what enforces encryption.
export function warnUnconfirmedSse(log: Logger, asked: SseParams, answer: { ServerSideEncryption?: string }, where: { endpoint: string; bucket: string }): void {
  if (sseConfirmed(asked, answer)) return;
  log.warn(
    's3-sse',
    `${where.endpoint} did not confirm server-side encryption ${describeSse(asked)} of a probe object in s3://${where.bucket} (its answer names ${answer.ServerSideEncryption ?? 'none'}): objects may be stored as the bucket's default has them`,
    {
      bucket: where.bucket,
      asked: asked.ServerSideEncryption,
      answered: answer.ServerSideEncryption ?? null,
      hint: "on AWS, check the bucket's default encryption and policy; S3-compatible stores may ignore the headers (Ceph RGW 16 stores AES256 objects unencrypted: use aws:kms with a key id there)",
    },
  );
}
