import { ExitCode, PgopsError, usageError } from '../../errors.ts';
import { checkRecipients, passphraseCheck, readPassphrase } from '../../repo/encryption.ts';
import { initialise, newIdentity, probeConditionalWrites, REPO_FILE, type RepoEncryption, type RepoIdentity, type RepoObjectLock } from '../../repo/identity.ts';
import { checkObjectLockSetting } from '../../repo/s3-object-lock.ts';
import { openRepo } from '../../repo/open.ts';
import type { Repo } from '../../repo/repo.ts';
import { listSets } from '../../repo/sets.ts';
import type { TaskContext, TaskHandler } from '../../task.ts';

// scrypt's work factor (log2 N) for passphrase mode: about 0.1 s and 64 MB per stored file on these machines; age's
// own default (18) takes four times that, for every WAL segment
const WORK_FACTOR = 16;

// pgops repo init: makes a location a repository by writing pgops-repo.json; a location that already holds sets or
// WAL (written before repositories were initialised) is adopted as it is. On an initialised one, --encrypt-to (or
// --encrypt-passphrase) replaces the recipients new writes encrypt to, and nothing else changes.
export const repoInit: TaskHandler<'repo-init'> = async (ctx) => {
  const repo = await openRepo(ctx.options.repo, ctx.options, ctx.log);
  try {
    // refused before anything is written: one option without the other, a file:// repository, a bucket without object lock
    const objectLock = await checkObjectLockSetting(repo, ctx.options, ctx.log);
    await repo.check();
    const encryption = await encryptionSetting(ctx, repo.url);
    const conditionalWrites = await probeConditionalWrites(repo);
    const { identity, created } = await initialise(repo, { ...newIdentity(ctx.now(), conditionalWrites), ...(encryption ? { encryption } : {}), ...(objectLock ? { objectLock } : {}) });
    const sets = await listSets(repo);
    const wal = await repo.hasAny('wal/');
    const held = [sets.length ? `${sets.length} backup set(s)` : '', wal ? 'archived WAL' : ''].filter(Boolean).join(' and ');
    if (!created && (encryption || objectLock)) return await changeSettings(ctx, repo, identity, { encryption, objectLock }, held);
    const summary = created
      ? `initialised repository ${repo.url} (format ${identity.version})${encryption ? `, ${describeEncryption(encryption)}` : ''}${objectLock ? `, ${describeLock(objectLock)}` : ''}${held ? `, adopting the ${held} it holds${encryption ? ' (stored unencrypted, and read as they are)' : ''}` : ''}${conditionalWrites === false ? '; this store ignores conditional writes (If-None-Match), so writers verify what they publish by reading it back' : ''}`
      : `${repo.url} is a pgops repository already (format ${identity.version}, created ${identity.createdAt} by pgops ${identity.tool?.version ?? '?'}): nothing changed`;
    ctx.log.info('done', summary, { created });
    return { exitCode: ExitCode.OK, summary, data: { ok: true, repo: repo.url, created, file: REPO_FILE, identity, adopted: created && held ? { sets: sets.length, wal } : null } };
  } finally {
    await repo.close();
  }
};

// The encryption --encrypt-to or --encrypt-passphrase asks for; undefined when neither is given.
async function encryptionSetting(ctx: TaskContext<'repo-init'>, url: string): Promise<RepoEncryption | undefined> {
  const o = ctx.options;
  const to = o.encryptTo ?? [];
  if (to.length && o.encryptPassphrase) throw usageError('--encrypt-to and --encrypt-passphrase exclude each other', 'recipients (age1...) protect best: the backup host then holds nothing that reads the backups');
  const changedAt = ctx.now().toISOString();
  if (o.encryptPassphrase) {
    const passphrase = await readPassphrase(o.passphraseFile, url);
    return { recipients: [], passphrase: { check: passphraseCheck(passphrase, WORK_FACTOR), workFactor: WORK_FACTOR }, changedAt };
  }
  if (!to.length) return undefined;
  return { recipients: [...new Set(checkRecipients(to))], changedAt };
}

// repo init --encrypt-to or --s3-object-lock on an initialised repository: the settings of new writes. Replaced
// recipients are kept as `previous` (their files are still read with their identities) until pgops repo rekey
// re-wraps those files; a new retention applies to what is written from now on (stored objects keep theirs).
async function changeSettings(ctx: TaskContext<'repo-init'>, repo: Repo, identity: RepoIdentity, wanted: { encryption?: RepoEncryption; objectLock?: RepoObjectLock }, held: string) {
  const before = identity.encryption;
  const sameEncryption = !wanted.encryption || (before && !before.passphrase && !wanted.encryption.passphrase && sameSet(before.recipients, wanted.encryption.recipients));
  const sameLock = !wanted.objectLock || JSON.stringify(wanted.objectLock) === JSON.stringify(identity.objectLock);
  if (sameEncryption && sameLock) {
    const summary = `${repo.url} has these settings already: nothing changed`;
    ctx.log.info('done', summary, { created: false });
    return { exitCode: ExitCode.OK, summary, data: { ok: true, repo: repo.url, created: false, changed: false, file: REPO_FILE, identity, adopted: null } };
  }
  let next: RepoIdentity = { ...identity, ...(sameLock ? {} : { objectLock: wanted.objectLock }) };
  const lockLine = sameLock ? '' : `; ${describeLock(wanted.objectLock!)} for every new write${identity.objectLock ? ` (was ${describeLock(identity.objectLock)}; stored objects keep theirs)` : ' (objects stored before carry none)'}`;
  if (sameEncryption) {
    await rewriteMarker(repo, next);
    const summary = `${repo.url}: ${lockLine.slice(2)}`;
    ctx.log.info('done', summary, { created: false, changed: true });
    return { exitCode: ExitCode.OK, summary, data: { ok: true, repo: repo.url, created: false, changed: true, file: REPO_FILE, identity: next, adopted: null } };
  }
  const encryption = wanted.encryption!;
  const replaced = before ? [...new Set([...(before.previous ?? []), ...before.recipients])].filter((r) => !encryption.recipients.includes(r)) : [];
  next = { ...next, encryption: { ...encryption, ...(replaced.length ? { previous: replaced } : {}) } };
  await rewriteMarker(repo, next);
  const after = before?.passphrase
    ? '; files stored before stay encrypted with the old passphrase, which this repository no longer records: keep it to read them (repo rekey re-wraps recipients only)'
    : before
    ? `; files stored before stay wrapped for ${before.recipients.join(', ')}: run pgops repo rekey --repo ${repo.url} --identity FILE (a file holding the old and the new identity) to re-wrap them for the new recipients`
    : held
      ? `; the ${held} stored before stay unencrypted (prune removes them in time)`
      : '';
  const summary = `${repo.url} now ${describeEncryption(encryption)} for every new write${after}${lockLine}`;
  ctx.log.info('done', summary, { created: false, changed: true });
  return { exitCode: ExitCode.OK, summary, data: { ok: true, repo: repo.url, created: false, changed: true, file: REPO_FILE, identity: next, adopted: null } };
}

async function rewriteMarker(repo: Repo, next: RepoIdentity): Promise<void> {
  try {
    await repo.putBytes(REPO_FILE, JSON.stringify(next, null, 2) + '\n');
  } catch (err) {
    throw new PgopsError(`cannot rewrite ${REPO_FILE} of ${repo.url}: ${(err as Error).message}`, { code: ExitCode.UNKNOWN, hint: (err as PgopsError).hint, cause: err });
  }
}

function describeLock(l: RepoObjectLock): string {
  return `stores every object of a set and every WAL file under S3 object lock (${l.mode}, ${l.duration})`;
}

function describeEncryption(e: RepoEncryption): string {
  return e.passphrase ? `encrypts with a passphrase (age scrypt, work factor 2^${e.passphrase.workFactor})` : `encrypts to ${e.recipients.length === 1 ? 'age recipient' : `${e.recipients.length} age recipients`} ${e.recipients.join(', ')}`;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
