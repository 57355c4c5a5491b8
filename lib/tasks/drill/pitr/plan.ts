import { ExitCode, PgopsError } from '../../../errors.ts';
import { baseBackupSystem, chooseBaseBackup, listBaseBackups, type CompleteBaseBackup } from '../../../repo/basebackups.ts';
import { basebackupsFolder } from '../../../repo/layout.ts';
import type { Repo } from '../../../repo/repo.ts';
import { archiveFacts } from '../../recover/archive.ts';
import { planRecovery, type RecoveryPlan, type RecoveryTarget } from '../../recover/index.ts';

// What the drill recovers: recover's plan; or, when recover refuses because the archive has a gap the target would
// cross, the base backup and the gap, which is then the drill's failing check (a broken chain is what the drill is
// there to find, not a reason for it not to run).
export type DrillPlan =
  | { kind: 'plan'; plan: RecoveryPlan; systemIdentifier: string; backup: CompleteBaseBackup }
  | { kind: 'gap'; systemIdentifier: string; backup: CompleteBaseBackup; gap: string; detail: string };

// Plans the drill's recovery; a refusal that is not a gap is thrown as recover throws it (exit 3 or 5).
export async function planDrill(repo: Repo, o: { systemId?: string; backup: string }, target: RecoveryTarget): Promise<DrillPlan> {
  try {
    const plan = await planRecovery(repo, o, target);
    return { kind: 'plan', plan, systemIdentifier: plan.systemIdentifier, backup: plan.backup };
  } catch (err) {
    if (!(err instanceof PgopsError) || err.code !== ExitCode.NOT_FOUND) throw err;
    const gap = await gapOf(repo, o).catch(() => undefined);
    if (!gap) throw err;
    return { kind: 'gap', ...gap, detail: `${err.message}${err.hint ? ` (${err.hint})` : ''}` };
  }
}

// The first segment missing between the base backup's start and the archive's end, if any.
async function gapOf(repo: Repo, o: { systemId?: string; backup: string }): Promise<{ systemIdentifier: string; backup: CompleteBaseBackup; gap: string } | undefined> {
  const systemIdentifier = await baseBackupSystem(repo, o.systemId);
  const backup = chooseBaseBackup(await listBaseBackups(repo, systemIdentifier), o.backup, `${repo.url.replace(/\/$/, '')}/${basebackupsFolder(systemIdentifier)}`);
  const m = backup.manifest;
  const facts = await archiveFacts(repo, systemIdentifier, { id: backup.id, timeline: m.timeline, startLsn: m.start.lsn, firstSegment: m.wal.first });
  const gap = facts.continuity.missing[0]?.first;
  return gap ? { systemIdentifier, backup, gap } : undefined;
}
