// What a check asks of the location --repo names before it grades an empty one.
import { notARepository, readIdentity } from '../repo/identity.ts';
import type { Repo } from '../repo/repo.ts';

// Where a check found nothing to grade (no set, no drill report, no WAL), the location must still be a repository:
// initialised (pgops-repo.json), or holding sets or WAL from before repositories were. Then "no backup" is the
// check's finding; anywhere else --repo names the wrong place (a typo, a folder not mounted, another bucket), which
// says nothing about the backups: the check throws, and is UNKNOWN rather than CRITICAL.
export async function requireRepository(repo: Repo): Promise<void> {
  if (await readIdentity(repo)) return;
  for (const prefix of ['backups/', 'basebackups/', 'wal/']) if (await repo.hasAny(prefix)) return;
  throw notARepository(repo.url, 'everything', 'check --repo for a typo, and that the folder is mounted or the bucket is the right one (pgops repo info shows what a location holds)');
}
