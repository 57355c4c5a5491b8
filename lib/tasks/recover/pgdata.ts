import fs from 'node:fs';
import path from 'node:path';
import { usageError } from '../../errors.ts';
import { serverRunning } from './server.ts';

// The data directory recover lays a base backup down into: absent (created, 0700) or an empty folder, and nothing
// else, so that a recovery never writes over a cluster. What recover created or wrote there is removed on failure.

// The state of --pgdata: absent or empty; anything else is refused (exit 3) before anything is read.
export function checkPgdata(pgdata: string): { absent: boolean } {
  if (!path.isAbsolute(pgdata)) throw usageError(`--pgdata ${pgdata} is not an absolute path`, 'pass the data directory as an absolute path: restore_command and pg_ctl run elsewhere');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(pgdata);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw usageError(`--pgdata ${pgdata} cannot be read: ${(err as Error).message}`);
    const parent = path.dirname(pgdata);
    if (!fs.existsSync(parent)) throw usageError(`the folder ${parent} that would hold --pgdata does not exist`, `create it first (mkdir -p ${parent}), on a disk with room for the whole cluster`);
    return { absent: true };
  }
  if (!stat.isDirectory()) throw usageError(`--pgdata ${pgdata} exists and is not a folder`, 'pass a new folder (it is created) or an empty one');
  if (serverRunning(pgdata)) {
    throw usageError(`--pgdata ${pgdata} is the data directory of a running server (postmaster.pid names a live process): recover never writes over a cluster`, 'recover into a new folder (for example beside it, with another --port), then copy rows back or switch over; see runbooks/point-in-time-recovery.md');
  }
  if (fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    throw usageError(`--pgdata ${pgdata} holds a PostgreSQL data directory (PG_VERSION): recover never writes over a cluster`, 'recover into a new folder; to replace this cluster, stop it, move its folder aside (mv), and recover into the old path');
  }
  const entries = fs.readdirSync(pgdata);
  if (entries.length > 0) {
    throw usageError(`--pgdata ${pgdata} is not empty (${entries.length} entries: ${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''})`, 'pass a new folder (it is created) or an empty one');
  }
  return { absent: false };
}

// Creates pgdata (0700) when it was absent.
export function preparePgdata(pgdata: string, absent: boolean, owner?: { uid: number; gid: number }): void {
  if (absent) fs.mkdirSync(pgdata, { mode: 0o700 });
  // PostgreSQL refuses a data directory that others can read (0700, or 0750 with group access)
  fs.chmodSync(pgdata, 0o700);
  if (owner) fs.chownSync(pgdata, owner.uid, owner.gid);
}

// Removes what recover laid down: pgdata's contents, and pgdata itself when recover created it.
export function removeLaidDown(pgdata: string, created: boolean): void {
  if (created) {
    fs.rmSync(pgdata, { recursive: true, force: true });
    return;
  }
  for (const e of fs.existsSync(pgdata) ? fs.readdirSync(pgdata) : []) fs.rmSync(path.join(pgdata, e), { recursive: true, force: true });
}
