import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { usageError } from '../../../errors.ts';
import type { Logger } from '../../../log.ts';

// The scratch folder of one point-in-time drill: the data directory (data/), the throwaway server's socket, its log
// and its hba file, all in one folder named pgops-pitr-<pid>-XXXXXX under --tmp-dir (or the OS temp folder), owned
// by the server's user. One folder, so that removing it removes everything the drill made (the staging folder of an
// S3 download lies beside data/, in it too).

export const SCRATCH_PREFIX = 'pgops-pitr-';

export interface Scratch {
  dir: string;
  pgdata: string;
  logFile: string;
  hbaFile: string;
}

// Creates the scratch folder (0700, given to owner when we are root) with the hba file that lets the drill in over
// the socket: the backed-up pg_hba.conf may admit nobody here, and the server listens on 127.0.0.1 and this socket only.
export function createScratch(tmpDir: string | undefined, owner: { uid: number; gid: number } | undefined): Scratch {
  const base = path.resolve(tmpDir ?? os.tmpdir());
  if (!fs.existsSync(base)) throw usageError(`--tmp-dir ${base} does not exist`, 'pass a folder with room for the whole cluster, or leave --tmp-dir out for the OS temp folder');
  const dir = fs.mkdtempSync(path.join(base, `${SCRATCH_PREFIX}${process.pid}-`));
  fs.chmodSync(dir, 0o700);
  const hbaFile = path.join(dir, 'pgops_hba.conf');
  fs.writeFileSync(hbaFile, '# pgops drill --pitr: the throwaway server admits the drill over its socket only\nlocal all all trust\n', { mode: 0o600 });
  if (owner) {
    fs.chownSync(dir, owner.uid, owner.gid);
    fs.chownSync(hbaFile, owner.uid, owner.gid);
  }
  return { dir, pgdata: path.join(dir, 'data'), logFile: path.join(dir, 'server.log'), hbaFile };
}

// The settings the throwaway server starts with (on its command line, over anything the backup's configuration
// says): reachable only from here, never archiving into the repository (the backed-up archive_command pushes there,
// and a promoted drill would add a timeline to the production archive), no SSL files it may lack, and no
// synchronous standby to wait for when the drill writes (CREATE EXTENSION amcheck).
export function serverSettings(s: Scratch): Record<string, string> {
  return {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: s.dir,
    hba_file: s.hbaFile,
    archive_mode: 'off',
    ssl: 'off',
    synchronous_standby_names: '',
  };
}

// Removes the scratch folder; one that cannot be removed is a warning saying how, not the drill's failure.
export function removeScratch(s: Scratch, log: Logger): boolean {
  try {
    fs.rmSync(s.dir, { recursive: true, force: true });
    return true;
  } catch (err) {
    log.warn('cleanup', `could not remove the scratch folder ${s.dir}: ${(err as Error).message}`, { hint: `remove it by hand: rm -rf ${s.dir}` });
    return false;
  }
}

// Scratch folders of earlier drills whose process is gone (killed, or kept with --keep), so that a host does not
// fill up with them unnoticed. They are named, never removed: someone may be looking at a kept one.
export function leftoverScratch(tmpDir: string | undefined): string[] {
  const base = path.resolve(tmpDir ?? os.tmpdir());
  let names: string[];
  try {
    names = fs.readdirSync(base);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(SCRATCH_PREFIX))
    .filter((n) => {
      const pid = Number(n.slice(SCRATCH_PREFIX.length).split('-')[0]);
      return !(Number.isInteger(pid) && pid > 0 && alive(pid));
    })
    .map((n) => path.join(base, n));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
