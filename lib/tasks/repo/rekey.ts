import { AgeNoIdentityError } from '../../age/index.ts';
import { ExitCode, PgopsError } from '../../errors.ts';
import { REPO_FILE, readIdentity, type RepoIdentity } from '../../repo/identity.ts';
import { classifyKey, isTempKey } from '../../repo/layout.ts';
import type { Digest } from '../../repo/open-file.ts';
import { openRepo } from '../../repo/open.ts';
import { rewrapDocument, rewrapObject } from '../../repo/rekey.ts';
import type { Repo, StoredObject } from '../../repo/repo.ts';
import { SealedRepo } from '../../repo/sealed.ts';
import { storageOf } from '../../repo/sealed-json.ts';
import type { TaskHandler } from '../../task.ts';
import { formatSize } from '../../units.ts';

// pgops repo rekey: after repo init --encrypt-to changed an encrypted repository's recipients, re-wraps every stored
// age file's key for the current recipients (a new header; nonce and data copied as they are), then the digests the
// manifests and sidecars list for those files. Folder by folder, the files before the manifest or sidecar that lists
// them: an interrupted run leaves at most one set whose listed sizes differ (damaged in backups list) until it runs
// again, with an identity file holding the old and the new identity. Prints the plan; --execute rewrites.

interface Group {
  /** the set's or base backup's folder, a WAL file's name, or one key */
  name: string;
  data: StoredObject[];
  documents: StoredObject[];
}

export const repoRekey: TaskHandler<'repo-rekey'> = async (ctx) => {
  const o = ctx.options;
  const repo = await openRepo(o.repo, o, ctx.log, { writer: true, reads: true });
  try {
    if (!(repo instanceof SealedRepo)) {
      throw new PgopsError(`repository ${repo.url} is not encrypted: there are no keys to re-wrap`, { code: ExitCode.UNKNOWN, hint: `encrypt it first: pgops repo init --repo ${repo.url} --encrypt-to age1... (runbooks/encryption.md)` });
    }
    const identity = (await readIdentity(repo.raw)) as RepoIdentity;
    const enc = identity.encryption!;
    const all = groupObjects((await repo.raw.list('')).filter((x) => !isTempKey(x.key) && x.key !== REPO_FILE));
    // a set or base backup without its manifest is being written (or was abandoned): its writer lists the digests
    // of what it wrote, so its files are left alone
    const groups = all.filter((g) => !inProgress(g));
    const skipped = all.filter(inProgress).map((g) => g.name);
    const files = groups.flatMap((g) => g.data);
    const bytes = files.reduce((n, f) => n + f.size, 0);
    const recipients = enc.passphrase ? 'the passphrase' : enc.recipients.join(', ');
    if (!o.execute) {
      const summary = `would re-wrap up to ${files.length} stored file(s) (${formatSize(bytes)} copied, none re-encrypted) in ${groups.length} folder(s) of ${repo.url} for ${recipients}, then rewrite the manifests and sidecars that list them; run again with --execute`;
      ctx.log.info('plan', summary);
      return { exitCode: ExitCode.OK, summary, data: { executed: false, repo: repo.url, recipients: enc.recipients, files: files.length, bytes, folders: groups.length } };
    }
    const keys = repo.keys();
    const counts = { rewrapped: 0, bytes: 0, plain: 0, documents: 0 };
    const unreadable: { key: string; reason: string }[] = [];
    for (const g of groups) {
      ctx.signal.throwIfAborted();
      const digests = new Map<string, Digest>();
      for (const f of g.data) {
        const r = await rewrapObject(repo.raw, f.key, keys.identities, keys.recipients, ctx.signal);
        if (r.status === 'rewrapped') {
          digests.set(f.key, r.sealed);
          counts.rewrapped++;
          counts.bytes += r.sealed.size;
        } else if (r.status === 'plain') counts.plain++;
        else unreadable.push({ key: f.key, reason: r.reason });
      }
      for (const d of g.documents) {
        try {
          if (await rewriteDocument(repo.raw, d.key, digests, keys)) counts.documents++;
        } catch (err) {
          if (!(err instanceof AgeNoIdentityError)) throw err;
          unreadable.push({ key: d.key, reason: 'no identity given unwraps the key of its sealed fields' });
        }
      }
    }
    // every file now reads with the current recipients' identities: the replaced ones are no longer needed
    if (unreadable.length === 0 && enc.previous?.length) {
      const { previous: _, ...rest } = enc;
      await repo.raw.putBytes(REPO_FILE, JSON.stringify({ ...identity, encryption: rest }, null, 2) + '\n');
    }
    const summary = [
      `re-wrapped ${counts.rewrapped} stored file(s) (${formatSize(counts.bytes)}) of ${repo.url} for ${recipients} and rewrote ${counts.documents} manifest(s), sidecar(s) and report(s)`,
      counts.plain ? `${counts.plain} file(s) stored before the repository was encrypted are left as they are` : '',
      skipped.length ? `${skipped.length} folder(s) without a manifest (a backup still writing them) were left alone: run rekey again once they are done (${skipped.slice(0, 3).join(', ')})` : '',
      unreadable.length ? `${unreadable.length} file(s) no identity given can read were left as they are (${unreadable.slice(0, 3).map((u) => u.key).join(', ')}${unreadable.length > 3 ? ', ...' : ''}): files written since the key change are wrapped for the new recipients only, so give an identity file holding the old and the new identity` : enc.previous?.length ? `the replaced recipients (${enc.previous.join(', ')}) read nothing any more` : '',
    ].filter(Boolean).join('; ');
    ctx.log.info('done', summary, { rewrapped: counts.rewrapped, unreadable: unreadable.length });
    return {
      exitCode: unreadable.length ? ExitCode.WARNING : ExitCode.OK,
      summary,
      data: { executed: true, repo: repo.url, recipients: enc.recipients, ...counts, unreadable, skipped },
    };
  } finally {
    await repo.close();
  }
};

// A manifest, sidecar or report after its files were re-wrapped: the new digests listed, its own seal re-wrapped.
// Returns whether it changed.
async function rewriteDocument(raw: Repo, key: string, digests: Map<string, Digest>, keys: ReturnType<SealedRepo['keys']>): Promise<boolean> {
  let doc = JSON.parse((await raw.getBytes(key)).toString('utf8')) as Record<string, unknown>;
  const before = JSON.stringify(doc);
  const folder = key.slice(0, key.lastIndexOf('/') + 1);
  if (Array.isArray(doc.files)) {
    doc.files = (doc.files as { path: string; sealed?: Digest }[]).map((f) => {
      const d = digests.get(folder + f.path);
      return d ? { ...f, sealed: { size: d.size, sha256: d.sha256 } } : f;
    });
  }
  if (typeof doc.stored === 'string') {
    const d = digests.get(folder + doc.stored);
    if (d) doc.sealed = { size: d.size, sha256: d.sha256 };
  }
  if (storageOf(key).kind === 'sealed') doc = rewrapDocument(doc, keys.identities, keys.recipients);
  if (JSON.stringify(doc) === before) return false;
  // the documents are written as their writers write them: sidecars on one line, the others indented
  await raw.putBytes(key, classifyKey(key.slice(folder.length))?.role === 'sidecar' && key.startsWith('wal/') ? JSON.stringify(doc) + '\n' : JSON.stringify(doc, null, 2) + '\n');
  return true;
}

// A set's or base backup's folder that has files but no manifest yet.
function inProgress(g: Group): boolean {
  return /^(backups|basebackups)\//.test(g.name) && !g.documents.some((d) => d.key.endsWith('/manifest.json'));
}

// The stored objects by folder: a set's or base backup's files with its manifest (and lease), a WAL file's data
// object with its sidecar, any other object alone; data (age files) before the documents that list them.
function groupObjects(objects: StoredObject[]): Group[] {
  const groups = new Map<string, Group>();
  for (const o of objects) {
    const parts = o.key.split('/');
    const name =
      (parts[0] === 'backups' || parts[0] === 'basebackups') && parts.length >= 4
        ? parts.slice(0, 3).join('/')
        : parts[0] === 'wal' && parts.length === 3
          ? `wal/${parts[1]}/${classifyKey(parts[2])?.name ?? parts[2]}`
          : o.key;
    const g = groups.get(name) ?? groups.set(name, { name, data: [], documents: [] }).get(name)!;
    const kind = storageOf(o.key).kind;
    if (kind === 'age') g.data.push(o);
    else if (kind === 'sealed' || o.key.endsWith('manifest.json') || (parts[0] === 'wal' && classifyKey(parts[2] ?? '')?.role === 'sidecar')) g.documents.push(o);
  }
  return [...groups.values()];
}
