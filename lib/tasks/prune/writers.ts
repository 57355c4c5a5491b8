import { messageOf } from '../../errors.ts';
import { bootId, hostName, localProcess } from '../../local-process.ts';
import type { Logger } from '../../log.ts';
import { LEASE_FILE } from '../../repo/layout.ts';
import { judgeLease, parseLease } from '../../repo/lease.ts';
import { NotFoundError, type Repo } from '../../repo/repo.ts';
import { setKey } from './plan.ts';
import { folderOf, logFields, nameOf, type Prunable } from './prunable.ts';

// The incomplete sets (or base backups) that a backup may still be writing, by setKey, with the reason the plan
// shows: kept whatever the grace. A set's lease decides (lib/repo/lease.ts); a lease that vanished since the listing
// (its backup just finished or gave up) or cannot be read keeps the set for this run, since prune cannot tell what
// became of it.
export async function liveWriters(repo: Repo, sets: readonly Prunable[], now: Date, log: Logger): Promise<Map<string, string>> {
  const writers = new Map<string, string>();
  const host = hostName();
  const boot = bootId();
  for (const set of sets) {
    if (set.status !== 'incomplete') continue;
    const key = folderOf(set) + LEASE_FILE;
    if (!set.objects.some((o) => o.key === key)) continue;
    const label = nameOf(set);
    let data: Buffer;
    try {
      data = await repo.getBytes(key);
    } catch (err) {
      writers.set(setKey(set), err instanceof NotFoundError ? 'its backup ended while prune ran' : `its lease cannot be read: ${messageOf(err)}`);
      continue;
    }
    const lease = parseLease(data);
    if (!lease) {
      log.warn('lease', `${label} has a lease that is not one this pgops reads: ignored, the grace decides`, { key });
      continue;
    }
    const verdict = judgeLease(lease, { host, bootId: boot, now, process: lease.host === host ? localProcess(lease.pid) : undefined });
    if (verdict.held) writers.set(setKey(set), verdict.reason);
    else log.info('lease', `${label}: lease ignored, ${verdict.reason}`, logFields(set));
  }
  return writers;
}
