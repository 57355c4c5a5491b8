import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { usageError } from '../../errors.ts';
import type { Logger } from '../../log.ts';

const run = promisify(execFile);

// PostgreSQL refuses to run as root. When pgops runs as root (cron, these machines), the laid-down data directory
// belongs to an unprivileged user (--os-user) who runs the server and with it restore_command; otherwise to us.

// True when we are root: the files are given to --os-user, and the server runs as that user.
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

// uid and gid of a user (`id`, which knows every user the system's name services know); unknown: exit 3.
export async function osUserIds(user: string): Promise<{ uid: number; gid: number }> {
  try {
    const [u, g] = await Promise.all([run('id', ['-u', '--', user]), run('id', ['-g', '--', user])]);
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  } catch {
    throw usageError(`the OS user "${user}" (--os-user) does not exist`, 'the data directory must belong to the unprivileged user that runs PostgreSQL: pass --os-user (postgres on Debian and most packages)');
  }
}

// argv that runs file as the server's user: through runuser when we are root, as it is otherwise.
export function asUser(user: string, file: string, args: readonly string[]): { file: string; args: string[] } {
  return runningAsRoot() ? { file: 'runuser', args: ['-u', user, '--', file, ...args] } : { file, args: [...args] };
}

// Warns when the server's user cannot run restore_command: execute node, read bin/pgops.js (a checkout under
// /root is the usual cause).
export async function checkUserCanRun(user: string, files: { node: string; bin: string }, log: Logger): Promise<boolean> {
  if (!runningAsRoot()) return true;
  const test = async (flag: string, file: string) => run('runuser', ['-u', user, '--', 'test', flag, file]).then(() => true, () => false);
  const [node, bin] = await Promise.all([test('-x', files.node), test('-r', files.bin)]);
  if (node && bin) return true;
  const what = [!node && `execute ${files.node}`, !bin && `read ${files.bin}`].filter(Boolean).join(' or ');
  log.warn('os-user', `the OS user "${user}" cannot ${what}: restore_command will fail and recovery will stop at its first WAL file`, {
    hint: `install pgops where ${user} can read it (npm install -g, or a folder outside /root), or give ${user} access to those paths`,
  });
  return false;
}

// Refuses a data directory the server's user cannot reach: a folder above it closed to that user (a parent made by
// mktemp, /root) makes the server fail at start, after the whole lay-down.
export async function checkUserReaches(user: string, folder: string): Promise<void> {
  if (!runningAsRoot()) return;
  const ok = await run('runuser', ['-u', user, '--', 'test', '-x', folder]).then(() => true, () => false);
  if (!ok) {
    throw usageError(`the OS user "${user}" cannot reach ${folder}: a folder on the way is closed to it, and the server runs as ${user}`, `pick a --pgdata below folders ${user} may enter (chmod o+x on the parents, or a folder it owns such as /var/lib/postgresql)`);
  }
}
