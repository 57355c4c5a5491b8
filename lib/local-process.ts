import fs from 'node:fs';
import os from 'node:os';

// What the kernel says about processes of this host, for leases (lib/backup-lease.ts). Linux's /proc gives a
// process's start time and the boot id; elsewhere only whether a pid exists is known (signal 0).

// This host's name as leases record it.
export function hostName(): string {
  return os.hostname();
}

// The kernel's boot id (Linux), undefined elsewhere.
export function bootId(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

// The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22) when it runs; null when no
// such process runs or it is a zombie (it ended and waits for its parent); undefined when /proc cannot tell.
export function processStartTime(pid: number): string | null | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync('/proc/self/stat')) return null;
    return undefined;
  }
  // the command name (field 2) is in parentheses and may hold spaces and parentheses itself
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  return fields[19];
}

// Whether a pid runs on this host, and its start time where the kernel tells it; undefined when it does not run.
export function localProcess(pid: number): { startTime?: string } | undefined {
  const start = processStartTime(pid);
  if (start === null) return undefined;
  if (start !== undefined) return { startTime: start };
  try {
    process.kill(pid, 0);
    return {};
  } catch (err) {
    // EPERM: it runs, as another user
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? {} : undefined;
  }
}
