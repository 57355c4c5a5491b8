import { ExitCode, PgopsError } from '../errors.ts';
import { BASEBACKUP_MANIFEST_FORMAT, parseBaseBackupManifest, type BaseBackupManifest } from './basebackup-manifest.ts';
import { backupIdTime, basebackupOfKey, basebackupPrefix, basebackupsFolder } from './layout.ts';
import type { Repo, StoredObject } from './repo.ts';
import { judgeFolder, type SetStatus } from './sets.ts';

// One base backup as found in the repository: complete when its manifest parses and every file it lists is stored
// with the listed size (the same definition as a logical set's, lib/repo/sets.ts).
export interface BaseBackup {
  systemIdentifier: string;
  id: string;
  time: Date;
  status: SetStatus;
  complete: boolean;
  manifest?: BaseBackupManifest;
  objects: StoredObject[];
  size: number;
  problem?: string;
}

export type CompleteBaseBackup = BaseBackup & { manifest: BaseBackupManifest };

// Every base backup in the repository (or of one system), newest first, each with its status.
export async function listBaseBackups(repo: Repo, systemIdentifier?: string): Promise<BaseBackup[]> {
  const groups = new Map<string, { systemIdentifier: string; id: string; objects: StoredObject[] }>();
  for (const obj of await repo.list(basebackupsFolder(systemIdentifier))) {
    const of = basebackupOfKey(obj.key);
    if (!of) continue;
    const folder = `${of.systemIdentifier}/${of.id}`;
    const g = groups.get(folder) ?? { ...of, objects: [] };
    g.objects.push(obj);
    groups.set(folder, g);
  }
  const backups: BaseBackup[] = [];
  for (const g of groups.values()) {
    const judged = await judgeFolder(repo, basebackupPrefix(g.systemIdentifier, g.id), g.objects, parseBaseBackupManifest, 'the base backup');
    backups.push({ ...g, time: backupIdTime(g.id)!, ...judged });
  }
  return backups.sort((a, b) => b.time.getTime() - a.time.getTime() || a.systemIdentifier.localeCompare(b.systemIdentifier));
}

// The system whose base backups to use: the one given, else the repository's only one.
export async function baseBackupSystem(repo: Repo, given: string | undefined): Promise<string> {
  if (given) return given;
  const systems = [...new Set((await repo.list(basebackupsFolder())).map((o) => basebackupOfKey(o.key)?.systemIdentifier).filter((s): s is string => s !== undefined))].sort();
  if (systems.length === 1) return systems[0];
  if (systems.length === 0) {
    throw new PgopsError(`the repository ${repo.url} holds no base backup`, { code: ExitCode.NOT_FOUND, hint: 'take one with pgops basebackup (WAL archiving with pgops wal push into the same repository must be on), or check --repo' });
  }
  throw new PgopsError(`the repository ${repo.url} holds base backups of ${systems.length} database systems (${systems.join(', ')})`, { code: ExitCode.UNKNOWN, hint: 'name one with --system-id' });
}

// The complete base backup --backup names: an id, label:NAME (the newest with that label), or latest (the newest,
// or with `before`, the newest that became consistent at or before that moment). Others are never returned.
export function chooseBaseBackup(backups: readonly BaseBackup[], which: string, where: string, before?: (b: CompleteBaseBackup) => boolean): CompleteBaseBackup {
  const complete = backups.filter((b): b is CompleteBaseBackup => b.complete && b.manifest?.format === BASEBACKUP_MANIFEST_FORMAT);
  if (which === 'latest') {
    const fit = complete.find((b) => !before || before(b));
    if (fit) return fit;
    throw new PgopsError(
      complete.length === 0 ? `no complete base backup in ${where}` : `no complete base backup in ${where} ended before the recovery target (the oldest, ${complete[complete.length - 1].id}, became consistent at ${complete[complete.length - 1].manifest.stop.lsn}, ${complete[complete.length - 1].manifest.stop.time})`,
      { code: ExitCode.NOT_FOUND, hint: complete.length === 0 ? 'take one with pgops basebackup; see pgops backups list' : 'a base backup can only be rolled forward: pick a later target, or recover from a logical backup (pgops restore)' },
    );
  }
  const label = which.startsWith('label:') ? which.slice('label:'.length) : undefined;
  const found = label === undefined ? backups.find((b) => b.id === which) : backups.find((b) => b.complete && b.manifest?.label === label) ?? backups.find((b) => b.manifest?.label === label);
  if (!found) {
    throw new PgopsError(`${label === undefined ? `base backup ${which}` : `no base backup labelled "${label}"`} ${label === undefined ? 'does not exist' : 'exists'} in ${where}`, { code: ExitCode.NOT_FOUND, hint: 'list them with pgops backups list, or use --backup latest' });
  }
  if (!found.complete) {
    throw new PgopsError(`base backup ${found.id} is ${found.status}: ${found.problem}`, { code: found.status === 'damaged' ? ExitCode.INTEGRITY : ExitCode.NOT_FOUND, hint: 'use another one (pgops backups list)' });
  }
  return found as CompleteBaseBackup;
}
