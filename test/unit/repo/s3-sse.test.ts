import { describe, expect, it } from 'vitest';
import { ExitCode, PgopsError } from '../../../lib/errors.ts';
import { resolveOptions } from '../../../lib/options.ts';
import { createLogger } from '../../../lib/log.ts';
import { describeSse, sseConfirmed, sseParams, warnUnconfirmedSse } from '../../../lib/repo/s3-sse.ts';

describe('server-side encryption from --s3-sse and --s3-sse-kms-key-id', () => {
  it('none without either: writes carry no encryption headers', () => {
    expect(sseParams({})).toEqual({});
    expect(sseParams({ s3SseKmsKeyId: '' })).toEqual({});
  });

  it('AES256 (SSE-S3) and aws:kms with or without a key', () => {
    expect(sseParams({ s3Sse: 'AES256' })).toEqual({ ServerSideEncryption: 'AES256' });
    expect(sseParams({ s3Sse: 'aws:kms' })).toEqual({ ServerSideEncryption: 'aws:kms' });
    expect(sseParams({ s3Sse: 'aws:kms', s3SseKmsKeyId: 'alias/pgops' })).toEqual({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/pgops' });
  });

  it('a key id alone implies aws:kms', () => {
    const arn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(sseParams({ s3SseKmsKeyId: arn })).toEqual({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: arn });
  });

  it('refuses a key id with AES256 (exit 3), saying which to drop', () => {
    const err = (() => {
      try {
        return sseParams({ s3Sse: 'AES256', s3SseKmsKeyId: 'alias/pgops' });
      } catch (e) {
        return e;
      }
    })() as PgopsError;
    expect(err).toBeInstanceOf(PgopsError);
    expect(err.code).toBe(ExitCode.UNKNOWN);
    expect(err.message).toBe('--s3-sse-kms-key-id alias/pgops is a KMS key, but --s3-sse is AES256 (keys managed by S3)');
    expect(err.hint).toContain('--s3-sse aws:kms');
  });

  it('reads like the request in messages', () => {
    expect(describeSse({})).toBe('none');
    expect(describeSse({ ServerSideEncryption: 'AES256' })).toBe('AES256');
    expect(describeSse({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/pgops' })).toBe('aws:kms with key alias/pgops');
  });

  it("is confirmed by an answer naming the algorithm (AWS answers the key's ARN for an alias), not by one naming none", () => {
    expect(sseConfirmed({}, {})).toBe(true);
    expect(sseConfirmed({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/pgops' }, { ServerSideEncryption: 'aws:kms' })).toBe(true);
    expect(sseConfirmed({ ServerSideEncryption: 'AES256' }, {})).toBe(false);
    expect(sseConfirmed({ ServerSideEncryption: 'aws:kms' }, { ServerSideEncryption: 'AES256' })).toBe(false);
  });
});

describe('the encryption options come from flags, the environment and the config file', () => {
  const resolve = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv, config: Record<string, unknown> = {}) =>
    resolveOptions('wal-push', flags, env, config, ['s3-sse', 's3-sse-kms-key-id']).values;

  it('PGOPS_S3_SSE and PGOPS_S3_SSE_KMS_KEY_ID, or s3-sse and s3-sse-kms-key-id in a target', () => {
    expect(resolve({}, { PGOPS_S3_SSE: 'aws:kms', PGOPS_S3_SSE_KMS_KEY_ID: 'alias/pgops' })).toEqual({ s3Sse: 'aws:kms', s3SseKmsKeyId: 'alias/pgops' });
    expect(resolve({}, {}, { 's3-sse': 'AES256' })).toEqual({ s3Sse: 'AES256' });
    expect(resolve({ 's3-sse': 'AES256' }, { PGOPS_S3_SSE: 'aws:kms' })).toEqual({ s3Sse: 'AES256' });
  });

  it('refuses another algorithm, naming the two S3 knows', () => {
    expect(() => resolve({ 's3-sse': 'aws:kms:dsse' }, {})).toThrow('invalid --s3-sse "aws:kms:dsse": expected one of AES256, aws:kms');
  });
});

describe('a store that does not confirm the encryption asked for', () => {
  // the JSON log lines a run would write to stderr
  const logged = () => {
    const lines: string[] = [];
    const log = createLogger({ task: 'backup', format: 'json', stream: { write: (l: string) => lines.push(l) } as never, verbose: false });
    return { log, entries: () => lines.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
  };
  const where = { endpoint: 'http://127.0.0.1:9000', bucket: 'backups' };

  it('is warned of, naming what was asked and what was answered', () => {
    const { log, entries } = logged();
    warnUnconfirmedSse(log, { ServerSideEncryption: 'AES256' }, {}, where);
    expect(entries()).toHaveLength(1);
    expect(entries()[0]).toMatchObject({
      level: 'warn',
      kind: 's3-sse',
      message: "http://127.0.0.1:9000 did not confirm server-side encryption AES256 of a probe object in s3://backups (its answer names none): objects may be stored as the bucket's default has them",
      asked: 'AES256',
      answered: null,
    });
  });

  it('is not warned of when the answer confirms it, or nothing was asked', () => {
    const { log, entries } = logged();
    warnUnconfirmedSse(log, { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'alias/pgops' }, { ServerSideEncryption: 'aws:kms' }, where);
    warnUnconfirmedSse(log, {}, { ServerSideEncryption: 'AES256' }, where);
    expect(entries()).toEqual([]);
  });
});
