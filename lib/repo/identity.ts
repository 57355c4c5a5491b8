import { ExitCode, PgopsError, messageOf } from '../errors.ts';
import { VERSION } from '../version.ts';
import { AlreadyExistsError, NotFoundError, type Repo } from './repo.ts';

// The file that makes a location a pgops repository: written by `pgops repo init`, read by every writer first.
//
//   <repo>/pgops-repo.json   { "format": "pgops-repo", "version": 1, "createdAt": ..., "tool": {...}, ... }
//
// A writer refuses a location without it, so that a typo in --repo is an error, not a new repository that the
// monitor notices a day later (as pgBackRest's stanza-create and restic's init).
export const REPO_FILE = 'pgops-repo.json';
export const REPO_FORMAT = 'pgops-repo';
/** the newest repository format this pgops reads and writes */
export const REPO_VERSION = 1;

export interface RepoIdentity {
  format: typeof REPO_FORMAT;
  version: number;
  createdAt: string;
  tool: { name: 'pgops'; version: string };
  /** s3 only: whether the store refuses a conditional PutObject (If-None-Match: *) on an existing key, probed at init */
  conditionalWrites?: boolean;
  /** every writer encrypts what it stores to these (repo init --encrypt-to); absent: the repository is plaintext */
  encryption?: RepoEncryption;
  /** s3 only: every object of a set and every archived WAL file is stored under this retention (repo init --s3-object-lock) */
  objectLock?: RepoObjectLock;
}

// The encryption every writer of a repository must honour: age (https://age-encryption.org/v1), public-key, so that
// a writer holds nothing that reads what it stored.
export interface RepoEncryption {
  /** age X25519 recipients (age1...): each stored file's key is wrapped for every one of them */
  recipients: string[];
  /**
   * passphrase mode (age's scrypt recipient) instead of recipients: writers and readers both need the passphrase
   * (--passphrase-file). check: a small age file of a known text under the passphrase, so that a writer with a
   * mistyped passphrase refuses to write rather than store backups nobody can read
   */
  passphrase?: { check: string; workFactor: number };
  /** when the recipients (or passphrase) last changed: files written before are wrapped for the earlier ones */
  changedAt: string;
  /** recipients replaced by a later repo init whose files pgops repo rekey has not re-wrapped yet: still read */
  previous?: string[];
}

// S3 object lock: the retention each stored object of a set and each archived WAL file carries.
export interface RepoObjectLock {
  mode: 'COMPLIANCE' | 'GOVERNANCE';
  /** the retention as repo init was given it (30d) */
  duration: string;
  /** the same in seconds: each object is locked until its write time plus this */
  seconds: number;
}

// Parses pgops-repo.json; throws naming what is wrong.
export function parseIdentity(data: Buffer | string, where: string): RepoIdentity {
  let doc: Partial<RepoIdentity>;
  try {
    doc = JSON.parse(data.toString()) as Partial<RepoIdentity>;
  } catch {
    throw new PgopsError(`${where} is not JSON`, { code: ExitCode.UNKNOWN, hint: `it was damaged: restore it from another copy, or remove it and run pgops repo init --repo ${where.replace(/\/?pgops-repo\.json$/, '')} to write it again` });
  }
  if (doc.format !== REPO_FORMAT || !Number.isInteger(doc.version)) {
    throw new PgopsError(`${where} is not a pgops repository file`, { code: ExitCode.UNKNOWN, hint: 'another tool wrote it: give pgops a --repo of its own' });
  }
  return doc as RepoIdentity;
}

// The repository's identity, or undefined when the location has none.
export async function readIdentity(repo: Repo): Promise<RepoIdentity | undefined> {
  try {
    return parseIdentity(await repo.getBytes(REPO_FILE), `${repo.url.replace(/\/$/, '')}/${REPO_FILE}`);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

// What a writer calls before it writes: the identity, or an error that says how to make one (and, when a nearby
// location is a repository, which). A format newer than this pgops writes is refused too.
export async function requireIdentity(repo: Repo, nearby: () => Promise<string[]> = async () => []): Promise<RepoIdentity> {
  const identity = await readIdentity(repo);
  if (identity) {
    if (identity.version > REPO_VERSION) {
      throw new PgopsError(`repository ${repo.url} has format version ${identity.version}; this pgops (${VERSION}) writes version ${REPO_VERSION}`, {
        code: ExitCode.UNKNOWN,
        hint: `a newer pgops (${identity.tool?.version ?? 'unknown'}) initialised it: upgrade pgops on this host`,
      });
    }
    return identity;
  }
  const holdsSets = await repo.hasAny('backups/').catch(() => false);
  const holdsWal = await repo.hasAny('wal/').catch(() => false);
  if (holdsSets || holdsWal) {
    throw notARepository(repo.url, 'identity', `it holds ${[holdsSets && 'backup sets', holdsWal && 'archived WAL'].filter(Boolean).join(' and ')} written before repositories were initialised: run pgops repo init --repo ${repo.url} to adopt it`);
  }
  // the neighbours are looked up only for an empty location: a typo's
  const near = await nearby().catch(() => []);
  throw notARepository(
    repo.url,
    'identity',
    near.length
      ? `did you mean ${near.map((u) => `--repo ${u}`).join(' or ')}? To start a new repository here, run pgops repo init --repo ${repo.url}`
      : `check --repo for a typo; to start a new repository here, run pgops repo init --repo ${repo.url}`,
  );
}

// The error for a location that is not a repository: "(it has no pgops-repo.json)" for a writer, "(no
// pgops-repo.json, no backup sets, no WAL)" for a reader that found nothing there.
export function notARepository(url: string, lacks: 'identity' | 'everything', hint: string): PgopsError {
  const what = lacks === 'identity' ? `it has no ${REPO_FILE}` : `no ${REPO_FILE}, no backup sets, no WAL`;
  return new PgopsError(`${url} is not a pgops repository (${what})`, { code: ExitCode.UNKNOWN, hint });
}

// Whether an S3 store refuses to overwrite on If-None-Match: * (RGW, AWS since 2024 do; some stores ignore it);
// undefined for a repository that is not in S3.
export async function probeConditionalWrites(repo: Repo): Promise<boolean | undefined> {
  const probe = (repo as Repo & { probeConditionalWrites?: () => Promise<boolean> }).probeConditionalWrites;
  return repo.kind === 's3' && probe ? probe.call(repo) : undefined;
}

// A fresh identity for `repo init`.
export function newIdentity(now: Date, conditionalWrites?: boolean): RepoIdentity {
  return {
    format: REPO_FORMAT,
    version: REPO_VERSION,
    createdAt: now.toISOString(),
    tool: { name: 'pgops', version: VERSION },
    ...(conditionalWrites === undefined ? {} : { conditionalWrites }),
  };
}

// Writes pgops-repo.json unless one exists: returns the identity in place and whether this call wrote it.
export async function initialise(repo: Repo, identity: RepoIdentity): Promise<{ identity: RepoIdentity; created: boolean }> {
  const existing = await readIdentity(repo);
  if (existing) return { identity: existing, created: false };
  try {
    await repo.putBytes(REPO_FILE, JSON.stringify(identity, null, 2) + '\n', { ifAbsent: true });
  } catch (err) {
    // another repo init won the race: its identity is the repository's
    if (err instanceof AlreadyExistsError) return { identity: (await readIdentity(repo)) ?? identity, created: false };
    throw new PgopsError(`cannot write ${REPO_FILE} into ${repo.url}: ${messageOf(err)}`, { code: ExitCode.UNKNOWN, hint: (err as PgopsError).hint, cause: err });
  }
  return { identity, created: true };
}
