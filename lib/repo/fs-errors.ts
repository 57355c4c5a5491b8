import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, PgopsError, messageOf } from '../errors.ts';

// What a failed file-system call was doing, for the message: the path the user knows (the object being published,
// never its temp file), and whose disk it is ("the repository's disk", "the disk of pg_wal" ...).
export interface FsErrorContext {
  action: 'writing' | 'reading' | 'deleting' | 'listing';
  path: string;
  disk?: string;
}

// Turns an error of a file-system call (it carries an errno code) into a PgopsError that names the cause and the
// path, with a hint; anything else (a PgopsError, a stream's own error, an abort) is returned as it is. archive_command
// and restore_command write these into PostgreSQL's log: one line each, never a bare "EACCES ... open" and a stack.
export function fsError(err: unknown, ctx: FsErrorContext): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof PgopsError || typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return err;
  const where = ctx.path;
  const disk = ctx.disk ?? "the repository's disk";
  const make = (message: string, hint: string) => new PgopsError(message, { code: ExitCode.FAILED, hint, cause: err });
  const orAnother = ctx.disk ? '' : ', or pass another --repo';
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return make(
        `no space left on ${disk} (${where})${code === 'EDQUOT' ? ': the disk quota is exceeded' : ''}`,
        `free space on it or give it a larger disk (for a repository: pgops prune --execute removes old sets); nothing was published, and what this run wrote was removed`,
      );
    case 'EACCES':
    case 'EPERM': {
      // the call's own path says which folder refused: mkdir of a/b needs a writable a, a temp file its folder
      const failed = (err as NodeJS.ErrnoException).path ?? where;
      const reads = ctx.action === 'reading' || ctx.action === 'listing';
      return make(
        `permission denied ${ctx.action} ${where}`,
        `${userName()} (the user pgops runs as; archive_command and restore_command run as the server's user) must be able to ${reads ? `read ${failed} and enter the folders above it` : `write into ${path.dirname(failed)}`}: fix its owner or mode${orAnother}`,
      );
    }
    case 'EROFS':
      return make(`cannot ${verbOf(ctx.action)} ${where}: its file system is read-only`, `remount it read-write${orAnother}`);
    case 'ENOTDIR':
    case 'EEXIST': {
      const blocker = fileInTheWay(where);
      if (code === 'EEXIST' && !blocker) break;
      return make(
        `cannot ${verbOf(ctx.action)} ${where}: ${blocker ?? 'a part of its path'} is a file, not a folder`,
        `a folder is needed there: move ${blocker ?? 'the file'} aside (pgops did not write it)${ctx.disk ? '' : ', or check --repo'}`,
      );
    }
    case 'EISDIR':
      // rename(2) onto a folder, or a read of one: something other than pgops made a folder of that name
      return make(`cannot ${verbOf(ctx.action)} ${where}: it is a folder, not a file`, `move ${where} aside (pgops did not make it)${ctx.disk ? '' : ', or check --repo'}`);
    case 'EIO':
      return make(`i/o error ${ctx.action} ${where}`, `${disk} or its file system failed: check the kernel log (dmesg) and the mount before you retry`);
    default:
      break;
  }
  return make(`${ctx.action} ${where} failed: ${messageOf(err)}`, `check ${disk} and the permissions of ${path.dirname(where)}`);
}

// Awaits p and maps its file-system error (fsError).
export async function mapFsError<T>(p: Promise<T>, ctx: FsErrorContext): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw fsError(err, ctx);
  }
}

function verbOf(action: FsErrorContext['action']): string {
  return { writing: 'write', reading: 'read', deleting: 'delete', listing: 'list' }[action];
}

// The first ancestor of p (or p itself, for a folder that should be made) that exists and is not a folder.
function fileInTheWay(p: string): string | undefined {
  const parts = path.resolve(p).split(path.sep).filter(Boolean);
  let at: string = path.sep;
  for (const part of parts.slice(0, -1)) {
    at = path.join(at, part);
    const st = statSync(at, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (!st.isDirectory()) return at;
  }
  return undefined;
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
