import { describe, expect, it } from 'vitest';
import { PgopsError } from '../../../lib/errors.ts';
import { silentLogger } from '../../../lib/log.ts';
import { FileRepo } from '../../../lib/repo/file.ts';
import { openLocation } from '../../../lib/repo/open.ts';
import type { Repo } from '../../../lib/repo/repo.ts';
import { S3Repo } from '../../../lib/repo/s3.ts';

// the URL's storage, as openRepo opens it before it reads the repository's pgops-repo.json (no S3 server here)
const open = (url: string | undefined): Promise<Repo> => openLocation(url, {}, silentLogger());

async function refusal(url: string | undefined): Promise<PgopsError> {
  const err = await open(url).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PgopsError);
  expect((err as PgopsError).code).toBe(3);
  return err as PgopsError;
}

describe('openLocation', () => {
  it('opens a folder from a file:///abs URL', async () => {
    const repo = await open('file:///var/backups/pg');
    expect(repo).toBeInstanceOf(FileRepo);
    expect(repo.kind).toBe('file');
    expect((repo as FileRepo).root).toBe('/var/backups/pg');
    expect(repo.url).toBe('file:///var/backups/pg');
  });

  it('decodes percent-escapes in a file URL', async () => {
    const repo = await open('file:///tmp/my%20backups');
    expect((repo as FileRepo).root).toBe('/tmp/my backups');
  });

  it('refuses a relative file URL with a hint to write three slashes', async () => {
    const err = await refusal('file://backups/pg');
    expect(err.message).toMatch(/not absolute/);
    expect(err.hint).toMatch(/file:\/\/\/abs\/path/);
  });

  it('refuses a bare absolute path with a hint giving the URL to write', async () => {
    const err = await refusal('/var/backups/pg');
    expect(err.message).toMatch(/is a path, not a URL/);
    expect(err.hint).toBe('write file:///var/backups/pg');
  });

  it('refuses a bare relative path', async () => {
    const err = await refusal('backups');
    expect(err.message).toMatch(/unsupported repository URL/);
    expect(err.hint).toMatch(/file:\/\/\/abs\/path or s3:\/\/bucket\/prefix/);
  });

  it('passes the bucket and the prefix of an s3 URL, without the trailing slash', async () => {
    const repo = await open('s3://my-bucket/pg/prod/');
    try {
      expect(repo).toBeInstanceOf(S3Repo);
      expect(repo.kind).toBe('s3');
      expect((repo as S3Repo).bucket).toBe('my-bucket');
      expect((repo as S3Repo).prefix).toBe('pg/prod');
      expect(repo.url).toBe('s3://my-bucket/pg/prod');
      expect(repo.localPath('x')).toBeUndefined();
    } finally {
      await repo.close();
    }
  });

  it('takes an s3 URL without a prefix as the bucket root', async () => {
    const repo = await open('s3://my-bucket');
    try {
      expect((repo as S3Repo).bucket).toBe('my-bucket');
      expect((repo as S3Repo).prefix).toBe('');
    } finally {
      await repo.close();
    }
  });

  it('refuses an s3 URL without a bucket', async () => {
    const err = await refusal('s3:///prefix');
    expect(err.message).toMatch(/no bucket/);
    expect(err.hint).toMatch(/s3:\/\/bucket\/prefix/);
  });

  it('refuses an unsupported scheme', async () => {
    const err = await refusal('https://example.com/backups');
    expect(err.message).toBe('unsupported repository URL "https://example.com/backups"');
    expect(err.hint).toMatch(/file:\/\/\/abs\/path or s3:\/\/bucket\/prefix/);
  });

  it('refuses a missing URL with a hint naming --repo and PGOPS_REPO', async () => {
    const err = await refusal(undefined);
    expect(err.hint).toMatch(/--repo/);
    expect(err.hint).toMatch(/PGOPS_REPO/);
  });
});

describe('S3 part sizes', async () => {
  const { partSizeFor } = await import('../../../lib/repo/s3.ts');
  const MiB = 1024 * 1024;
  it('keeps the configured part size while 9,000 parts hold the body', () => {
    expect(partSizeFor(16 * MiB)).toBe(16 * MiB);
    expect(partSizeFor(16 * MiB, 100 * 1024 * MiB)).toBe(16 * MiB);
  });
  it('grows parts for a body that would need more than 9,000 of them', () => {
    expect(partSizeFor(16 * MiB, 1024 * 1024 * MiB)).toBe(117 * MiB); // 1 TiB / 9000 = 116.5 MiB
    expect(partSizeFor(16 * MiB, 1e15)).toBe(5 * 1024 * MiB);
  });
});

describe('S3 upload memory', async () => {
  const { partsInFlight } = await import('../../../lib/repo/s3-upload.ts');
  const MiB = 1024 * 1024;
  it('keeps about 64 MB of parts in flight', () => {
    expect(partsInFlight(5 * MiB)).toBe(4);
    expect(partsInFlight(16 * MiB)).toBe(4);
    expect(partsInFlight(32 * MiB)).toBe(2);
    expect(partsInFlight(117 * MiB)).toBe(1);
  });
});
