import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OptionsOf } from '../../options.ts';
import type { Repo } from '../../repo/repo.ts';
import type { S3Repo } from '../../repo/s3.ts';
import { ExitCode } from '../../errors.ts';
import { ABSENT_SUFFIX, ASK_SUFFIX } from './spool.ts';

// restore_command as the recovered server runs it: `pgops wal fetch %f %p` with absolute paths (the server's PATH
// is not ours), the repository, the system, and the S3 options that are not secrets. Credentials never go into it:
// postgresql.auto.conf is read by anyone who can read the data directory, and outlives the recovery; they reach
// restore_command through the server's environment (AWS_SHARED_CREDENTIALS_FILE, ~/.aws of its user, ...).

// The S3 options' defaults, as lib/options.ts has them: an option at its default is left out of the command. The
// region has none: it is always passed, as the repository resolved it (the server's environment may lack the profile
// or variable it came from).
const S3_DEFAULTS = { s3PathStyle: false, s3Checksum: 'when-supported' } as const;

// The pgops bin (bin/pgops.js) of this installation, found from this module in lib/ or in a bundle in dist/.
export function pgopsBin(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const bin = path.join(dir, 'bin', 'pgops.js');
    if (fs.existsSync(bin) && fs.existsSync(path.join(dir, 'package.json'))) return bin;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`bin/pgops.js not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

// One word of the command line: restore_command runs through sh, so anything but plain characters is quoted.
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// One literal word of restore_command: quoted for sh, every % doubled (PostgreSQL replaces %f, %p, %r and %% before
// sh sees the command: a path holding "%f" must stay that path).
function commandWord(word: string): string {
  return shellWord(word).replace(/%/g, '%%');
}

// An endpoint URL without a user and password in it (they would be a secret in postgresql.auto.conf).
function withoutUserInfo(endpoint: string): string {
  try {
    const u = new URL(endpoint);
    if (!u.username && !u.password) return endpoint;
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, endpoint.endsWith('/') ? '/' : '');
  } catch {
    return endpoint;
  }
}

// restore_command for this repository: absolute node and pgops paths, `wal fetch %f %p --repo URL --system-id ID`
// and the S3 options that are not secrets (endpoint, path style, checksum) when they differ from the defaults, and
// the region (o.s3Region: pass the one the repository resolved, resolvedS3Region).
// With a spool folder (spool.ts: recover --start, drill --pitr), the spool serves what it can first (spooledCommand).
export function restoreCommandFor(repoUrl: string, systemIdentifier: string, o: Partial<OptionsOf<'recover'>>, spool?: string): string {
  const words = [process.execPath, pgopsBin(), 'wal', 'fetch', '%f', '%p', '--repo', repoUrl, '--system-id', systemIdentifier];
  if (repoUrl.startsWith('s3://')) {
    if (o.s3Endpoint) words.push('--s3-endpoint', withoutUserInfo(o.s3Endpoint));
    if (o.s3Region) words.push('--s3-region', o.s3Region);
    if (o.s3PathStyle !== undefined && o.s3PathStyle !== S3_DEFAULTS.s3PathStyle) words.push('--s3-path-style');
    if (o.s3Checksum && o.s3Checksum !== S3_DEFAULTS.s3Checksum) words.push('--s3-checksum', o.s3Checksum);
  }
  // an encrypted repository's key files by their paths (never their content): the server's user must be able to
  // read them for a recovery started by hand; while pgops waits for the replay, its spool serves the files
  if (o.identity) words.push('--identity', path.resolve(o.identity));
  if (o.passphraseFile) words.push('--passphrase-file', path.resolve(o.passphraseFile));
  const fetch = words.map((w) => (w === '%f' || w === '%p' ? w : commandWord(w))).join(' ');
  if (!spool) return fetch;
  return spooledCommand(spool, fetch);
}

// How long restore_command waits for the spool's answer to its question: 2000 looks 10 ms apart, over 20 s, enough for
// a segment's download from a slow bucket; it stops waiting at once when the pgops process answering is gone.
const ASK_LOOKS = 2000;

// restore_command with a spool (spool.ts: recover --start, drill --pitr, while this process waits for the replay):
// - a file spooled ahead is moved into place: it is whole and verified, and mv inside the data directory is a rename;
// - else the file is asked for (<name>.ask) and the answer awaited: the file, or <name>.absent ("not archived": wal
//   fetch's exit code), or the question removed unanswered;
// - anything else (no folder: the server started by hand later; no answer; this process gone, as /proc shows; an mv
//   that fails) falls through to wal fetch, never to an exit PostgreSQL would take for the end of the archive.
// exec keeps wal fetch's exit code, and its death by a signal, what PostgreSQL sees. The subshell around the question's
// creation keeps a failed redirection from ending sh (it would for the special built-in ":").
function spooledCommand(spool: string, fetch: string): string {
  const folder = commandWord(spool);
  const alive = `/proc/${process.pid}`;
  const take = 'if [ -f "$f" ] && mv -f "$f" %p; then exit 0; fi';
  const absent = `if [ -f "$f${ABSENT_SUFFIX}" ]; then rm -f "$f${ABSENT_SUFFIX}"; exit ${ExitCode.NOT_FOUND}; fi`;
  return [
    `f=${folder}/%f`,
    take,
    `if [ -d ${folder} ] && rm -f "$f${ABSENT_SUFFIX}" && (: > "$f${ASK_SUFFIX}") 2>/dev/null; then i=0; while [ $i -lt ${ASK_LOOKS} ] && [ -d ${alive} ]; do ${take}; ${absent}; [ -f "$f${ASK_SUFFIX}" ] || break; sleep 0.01; i=$((i+1)); done; ${take}; ${absent}; rm -f "$f${ASK_SUFFIX}"; fi`,
    `exec ${fetch}`,
  ].join('; ');
}

// The options restore_command is made from, with the region an S3 repository resolved (flag, environment, profile,
// or the fallback beside an endpoint) in place of the option's.
export async function withResolvedRegion<O extends Partial<OptionsOf<'recover'>>>(repo: Repo, o: O): Promise<O> {
  // by shape, not instanceof: lib/repo/s3.ts (and the AWS SDK) load only when an s3:// repository is opened
  return repo.kind === 's3' ? { ...o, s3Region: await (repo as S3Repo).resolvedRegion() } : o;
}
