import path from 'node:path';
import type { Logger } from '../log.ts';
import { FileRepo } from './file.ts';
import { usageError } from '../errors.ts';
import { readerIdentities, writerRecipients, type KeyFiles } from './encryption.ts';
import { readIdentity, requireIdentity, type RepoObjectLock } from './identity.ts';
import { SealedRepo } from './sealed.ts';
import { nearbyRepositories } from './nearby.ts';
import type { Repo } from './repo.ts';
import type { S3Options } from './s3-client.ts';

export interface OpenOptions {
  /** the task writes (or deletes): the location must be an initialised repository (pgops-repo.json) */
  writer?: boolean;
  /**
   * the task decrypts what is stored (restore, drill, recover, wal fetch, verify --deep): an encrypted repository then
   * needs the task's identity, checked here, before the task reads or writes anything
   */
  reads?: boolean;
  /** a writer that stores nothing, only deletes (prune): needs no key of an encrypted repository */
  deletesOnly?: boolean;
}

// Opens the repository a URL names; a writer's is refused unless it was initialised (lib/repo/identity.ts). An
// encrypted repository (pgops-repo.json's encryption) is returned as a SealedRepo: writers encrypt to its
// recipients, readers decrypt with --identity (or --passphrase-file).
export async function openRepo(url: string | undefined, options: S3Options & KeyFiles, log: Logger, opts: OpenOptions = {}): Promise<Repo> {
  const repo = await openLocation(url, options, log);
  try {
    // a reader needs the marker too, when there is one: it says whether and to whom the repository is encrypted
    const identity = opts.writer ? await requireIdentity(repo, () => nearbyRepositories(repo)) : await readIdentity(repo);
    if (!identity) return repo;
    // repo init probed whether the store refuses overwrites: then ifAbsent is atomic there (lib/repo/s3.ts)
    if (repo.kind === 's3' && identity.conditionalWrites === true) (repo as Repo & { exclusiveCreate: boolean }).exclusiveCreate = true;
    // every object of a set and every archived WAL file then carries the retention (lib/repo/s3-object-lock.ts)
    if (repo.kind === 's3' && identity.objectLock && opts.writer) (repo as Repo & { objectLock?: RepoObjectLock }).objectLock = identity.objectLock;
    const enc = identity.encryption;
    if (!enc) return repo;
    const keys = {
      identities: opts.reads ? await readerIdentities(enc, options, repo.url) : undefined,
      recipients: opts.writer && !opts.deletesOnly ? await writerRecipients(enc, options, repo.url) : undefined,
    };
    return new SealedRepo(repo, keys);
  } catch (err) {
    await repo.close();
    throw err;
  }
}

// The storage a URL names, before its pgops-repo.json is read (openRepo reads it): file:///abs/path or s3://bucket/prefix (S3 settings from the s3-* options).
export async function openLocation(url: string | undefined, options: S3Options, log: Logger): Promise<Repo> {
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
