import path from 'node:path';
import { usageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { FileRepo } from './file.ts';
import { requireIdentity } from './identity.ts';
import { nearbyRepositories } from './nearby.ts';
import type { Repo } from './repo.ts';
import type { S3Options } from './s3-client.ts';

export interface OpenOptions {
  /** the task writes (or deletes): the location must be an initialised repository (pgops-repo.json) */
  writer?: boolean;
}

// Opens the repository a URL names; a writer's is refused unless it was initialised (lib/repo/identity.ts).
export async function openRepo(url: string | undefined, options: S3Options, log: Logger, opts: OpenOptions = {}): Promise<Repo> {
  const repo = await openLocation(url, options, log);
  if (opts.writer) {
    try {
      const identity = await requireIdentity(repo, () => nearbyRepositories(repo));
      // repo init probed whether the store refuses overwrites: then ifAbsent is atomic there (lib/repo/s3.ts)
      if (repo.kind === 's3' && identity.conditionalWrites === true) (repo as Repo & { exclusiveCreate: boolean }).exclusiveCreate = true;
    } catch (err) {
      await repo.close();
      throw err;
    }
  }
  return repo;
}

// The storage a URL names: file:///abs/path or s3://bucket/prefix (S3 settings from the s3-* options).
async function openLocation(url: string | undefined, options: S3Options, log: Logger): Promise<Repo> {
  if (!url) throw usageError('no repository given', 'pass --repo file:///abs/path or --repo s3://bucket/prefix (or set PGOPS_REPO, or a target in pgops.config.yml)');
  if (url.startsWith('file://')) {
    const p = decodeURIComponent(url.slice('file://'.length));
    if (!path.isAbsolute(p)) throw usageError(`repository path in ${url} is not absolute`, 'write file:///abs/path (three slashes)');
    return new FileRepo(path.resolve(p));
  }
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    if (!bucket) throw usageError(`no bucket in repository URL ${url}`, 'write s3://bucket/prefix');
    const { S3Repo } = await import('./s3.ts');
    return new S3Repo({ bucket, prefix, options, log });
  }
  if (path.isAbsolute(url)) throw usageError(`repository "${url}" is a path, not a URL`, `write file://${url}`);
  throw usageError(`unsupported repository URL "${url}"`, 'use file:///abs/path or s3://bucket/prefix');
}
