import { ExitCode, PgopsError } from '../../errors.ts';

// The refusals of a wal push that finds its name taken by other content. Nothing is overwritten in either case; the
// message names both hashes, so that an operator can tell which copy is which.

interface Content {
  size: number;
  sha256: string;
}

const TWO_SERVERS =
  'two servers with the same system identifier may archive into one repository (a copy of a data directory started as a second primary?); give each its own --repo, and keep the archived file until you know which one recovery needs';

// The name is archived (its sidecar is there) with other content than this file.
export function archivedDifferently(repoUrl: string, name: string, archived: Content, local: Content, hint = TWO_SERVERS): PgopsError {
  return new PgopsError(
    `${name} is already archived in ${repoUrl} with sha256 ${archived.sha256} (${archived.size} bytes); this file has sha256 ${local.sha256} (${local.size} bytes): nothing was overwritten`,
    { code: ExitCode.FAILED, hint },
  );
}

// The data object is there without a sidecar (not archived yet) and holds other content than this file.
export function storedDifferently(repoUrl: string, name: string, stored: string, found: Content, local: Content): PgopsError {
  return new PgopsError(
    `${name} is already stored in ${repoUrl} as ${stored}, without its sidecar yet, with sha256 ${found.sha256} (${found.size} bytes); this file has sha256 ${local.sha256} (${local.size} bytes): nothing was overwritten`,
    {
      code: ExitCode.FAILED,
      hint:
        'either another writer is archiving other content under this name right now (a second server with the same system identifier archiving into this repository?), or a push of other content crashed before its sidecar and left its data object; PostgreSQL retries archive_command. ' +
        `If no other server archives here, the stored object is that leftover: move ${stored} aside (keep it until you know which file recovery needs) and the next try archives this file`,
    },
  );
}

// On a store without conditional writes, what this push published was replaced by another writer before it could
// read it back.
export function replacedAfterPublish(repoUrl: string, what: string, local: Content): PgopsError {
  return new PgopsError(`${what} in ${repoUrl} no longer holds what this push published (this file has sha256 ${local.sha256} (${local.size} bytes)): another writer replaced it, the store does not refuse overwrites`, {
    code: ExitCode.FAILED,
    hint: `${TWO_SERVERS}; run pgops verify --repo ${repoUrl} to see what the archive holds now. A store with conditional writes (If-None-Match), recorded by pgops repo init, refuses the second writer instead`,
  });
}

// On a store without conditional writes, this push's data object landed over the archived file's (a racing writer
// won the sidecar): removed again, so that no copy of another file stands under the archived name.
export function replacedArchived(repoUrl: string, name: string, archived: Content, local: Content): PgopsError {
  return new PgopsError(
    `${name} is already archived in ${repoUrl} with sha256 ${archived.sha256} (${archived.size} bytes); this file has sha256 ${local.sha256} (${local.size} bytes), and this push's data object replaced the archived one before it saw the sidecar (the store does not refuse overwrites): it was removed again, the archive now lacks ${name}'s data`,
    {
      code: ExitCode.FAILED,
      hint: `wal push ${name} again from the server that archived it while its pg_wal still holds the file (wal push puts a missing data object back); ${TWO_SERVERS}`,
    },
  );
}
