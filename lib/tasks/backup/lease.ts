import { PgopsError, messageOf } from '../../errors.ts';
import { bootId, hostName, processStartTime } from '../../local-process.ts';
import type { Logger } from '../../log.ts';
import { LEASE_FILE } from '../../repo/layout.ts';
import { LEASE_FORMAT, type BackupLease } from '../../repo/lease.ts';
import type { Repo } from '../../repo/repo.ts';

/** how often a running backup renews its lease */
export const LEASE_RENEW_MS = 60_000;
/** how long a lease holds past its last renewal: several failed renewals (a slow or flaky store) do not lose it */
export const LEASE_TTL_MS = 10 * 60_000;

// A lease this backup holds on its set (lib/backup-lease.ts says what prune makes of it).
export interface HeldLease {
  readonly key: string;
  /** stops renewing; resolves once a renewal in flight has settled, so nothing writes the lease afterwards */
  stop(): Promise<void>;
  /** stops renewing and deletes the lease; a failure is logged, not thrown: a complete set with a stray lease is complete */
  release(): Promise<void>;
  /** throws when the lease lapsed (no renewal reached the store for longer than a lease holds): prune on another host may have removed files of the set */
  assertHeld(): void;
}

export interface LeaseOptions {
  now: () => Date;
  log: Logger;
  renewMs?: number;
  ttlMs?: number;
}

// Writes the set's lease and renews it on a timer until stopped; rejects (with the storage's error) when the
// first write fails, before anything else of the set exists.
export async function takeLease(repo: Repo, prefix: string, opts: LeaseOptions): Promise<HeldLease> {
  const key = prefix + LEASE_FILE;
  const renewMs = opts.renewMs ?? LEASE_RENEW_MS;
  const ttlMs = opts.ttlMs ?? LEASE_TTL_MS;
  const startedAt = opts.now();
  const base = { format: LEASE_FORMAT, host: hostName(), pid: process.pid, bootId: bootId(), pidStart: processStartTime(process.pid) ?? undefined, startedAt: startedAt.toISOString() };
  // the first write claims the set's folder: it never replaces another writer's lease; renewals replace this one's
  const write = async (first = false): Promise<number> => {
    const now = opts.now();
    const expires = now.getTime() + ttlMs;
    const lease: BackupLease = { ...base, renewedAt: now.toISOString(), expiresAt: new Date(expires).toISOString() };
    await repo.putBytes(key, JSON.stringify(lease, null, 2) + '\n', first ? { ifAbsent: true } : undefined);
    return expires;
  };
  let validUntil = await write(true);
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (inFlight || stopped) return;
    inFlight = write()
      .then((expires) => {
        validUntil = expires;
      })
      .catch((err: unknown) => {
        opts.log.warn('lease', `could not renew the backup's lease ${key}: ${messageOf(err)}`, { hint: `it holds until ${new Date(validUntil).toISOString()}; the next renewal is in ${renewMs / 1000} s` });
      })
      .finally(() => {
        inFlight = undefined;
      });
  }, renewMs);
  // a renewal never keeps the process alive on its own
  timer.unref();
  const stop = async () => {
    stopped = true;
    clearInterval(timer);
    await inFlight;
  };
  return {
    key,
    stop,
    async release() {
      await stop();
      await repo.delete([key]).catch((err: unknown) => opts.log.warn('lease', `could not remove the backup's lease ${key}: ${messageOf(err)}`, { hint: 'the set is complete all the same; prune removes the lease with the set' }));
    },
    assertHeld() {
      if (opts.now().getTime() <= validUntil) return;
      throw new PgopsError(`the backup's lease ${key} lapsed at ${new Date(validUntil).toISOString()}: no renewal reached the repository for ${ttlMs / 60_000} min`, {
        hint: 'prune on another host may have removed files of this set, so it is not committed: check the repository\'s health and run the backup again',
      });
    },
  };
}
