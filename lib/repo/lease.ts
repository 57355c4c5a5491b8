// The lease a running backup holds on its set, so that prune never deletes a set while its writer is alive.
//
//   <repo>/backups/<database>/<backup id>/lease.json   written first, renewed while the backup runs, removed after
//                                                       the manifest is committed (or with the rest on failure)
//
// A lease is honoured while its writer is alive: on the host that wrote it, by asking the kernel about the pid (and
// the pid's start time, against a reused pid); elsewhere, until it expires. A lease on this host whose process is
// gone is ignored at once, so a killed backup's leftover goes after --incomplete-grace as any unfinished set.
// Hosts are told apart by their hostname: two containers sharing one hostname and one repository would take each
// other's pids for their own (give them distinct hostnames). Its name in a set is LEASE_FILE (lib/repo/layout.ts).

export const LEASE_FORMAT = 'pgops-backup-lease' as const;

export interface BackupLease {
  format: typeof LEASE_FORMAT;
  host: string;
  pid: number;
  /** the kernel's boot id: a pid of an earlier boot is no process of this one */
  bootId?: string;
  /** the process's start time in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart */
  pidStart?: string;
  startedAt: string;
  renewedAt: string;
  /** past this moment a host that cannot ask about the pid treats the writer as gone */
  expiresAt: string;
}

// Parses lease.json; undefined when it is not a lease this pgops reads (then the grace decides alone).
export function parseLease(data: Buffer | string): BackupLease | undefined {
  let doc: Partial<BackupLease>;
  try {
    doc = JSON.parse(data.toString()) as Partial<BackupLease>;
  } catch {
    return undefined;
  }
  if (doc.format !== LEASE_FORMAT || typeof doc.host !== 'string' || !Number.isInteger(doc.pid) || doc.pid! <= 0) return undefined;
  if ([doc.startedAt, doc.renewedAt, doc.expiresAt].some((t) => typeof t !== 'string' || Number.isNaN(Date.parse(t)))) return undefined;
  return doc as BackupLease;
}

// What this host knows of itself and, when the lease is its own, of the lease's pid.
export interface LeaseView {
  host: string;
  bootId?: string;
  now: Date;
  /** the lease's pid on this host: undefined when no such process runs (or it is a zombie) */
  process?: { startTime?: string };
}

// Whether a lease still holds its set, and why (the plan shows the reason).
export interface LeaseVerdict {
  held: boolean;
  reason: string;
}

// Decides whether a lease's writer is alive: on its own host by the pid (and its start time and the boot),
// elsewhere by the lease's expiry.
export function judgeLease(lease: BackupLease, view: LeaseView): LeaseVerdict {
  const who = `pid ${lease.pid} on ${lease.host}`;
  const writing = `a backup is writing it: ${who}, lease renewed at ${lease.renewedAt}`;
  if (lease.host === view.host) {
    if (lease.bootId && view.bootId && lease.bootId !== view.bootId) return { held: false, reason: `its writer (${who}) ran before the host restarted` };
    if (!view.process) return { held: false, reason: `its writer (${who}) is gone` };
    if (lease.pidStart && view.process.startTime && lease.pidStart !== view.process.startTime) {
      return { held: false, reason: `its writer (${who}) is gone: the pid now belongs to another process` };
    }
    return { held: true, reason: writing };
  }
  if (view.now.getTime() < Date.parse(lease.expiresAt)) return { held: true, reason: `${writing}, expires at ${lease.expiresAt}` };
  return { held: false, reason: `the lease of its writer (${who}) expired at ${lease.expiresAt}` };
}
