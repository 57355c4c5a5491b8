import type { Logger } from '../../log.ts';
import { basebackupPrefix, setPrefix } from '../../repo/layout.ts';
import type { StoredObject } from '../../repo/repo.ts';
import type { RetentionSet } from './plan.ts';

// What prune deletes and plans alike: a logical set (BackupSet) or a base backup (BaseBackup), with its stored objects.
export type Prunable = RetentionSet & { objects: StoredObject[] };

// The folder a set lives in: backups/<database>/<id>/ or basebackups/<system>/<id>/.
export function folderOf(s: Pick<RetentionSet, 'database' | 'systemIdentifier' | 'id'>): string {
  return s.database !== undefined ? setPrefix(s.database, s.id) : basebackupPrefix(s.systemIdentifier!, s.id);
}

// A set's path below its kind's folder: app/20261122T031700Z, 7300000000000000000/20261122T031700Z.
export function pathOf(s: Pick<RetentionSet, 'database' | 'systemIdentifier' | 'id'>): string {
  return `${s.database ?? s.systemIdentifier}/${s.id}`;
}

// What a set is, in messages: "set" or "base backup".
export function kindOf(s: Pick<RetentionSet, 'database'>): string {
  return s.database !== undefined ? 'set' : 'base backup';
}

// A set as messages name it: "backup set app/20261122T031700Z", "base backup 7300000000000000000/20261122T031700Z".
export function nameOf(s: Pick<RetentionSet, 'database' | 'systemIdentifier' | 'id'>): string {
  return `${s.database !== undefined ? 'backup set' : 'base backup'} ${pathOf(s)}`;
}

// The fields a log entry about a set carries.
export function logFields(s: Pick<RetentionSet, 'database' | 'systemIdentifier' | 'id'>): Record<string, string> {
  return s.database !== undefined ? { database: s.database, backupId: s.id } : { systemIdentifier: s.systemIdentifier!, backupId: s.id };
}

// Warns of each set kept because it is unreadable or damaged: a person must look at it.
export function warnKeptForInspection(sets: readonly Prunable[], log: Logger): Prunable[] {
  const inspect = sets.filter((s) => s.status === 'unreadable' || s.status === 'damaged');
  for (const s of inspect) {
    if (s.status === 'unreadable') {
      log.warn('unreadable', `${nameOf(s)} has a manifest that cannot be read: kept`, {
        hint: 'inspect it; delete it by hand when its manifest is corrupt, or upgrade pgops when a newer version wrote it',
      });
    } else {
      log.warn('damaged', `${nameOf(s)} is damaged (${s.problem}): kept`, {
        hint: `something removed or changed files of the ${kindOf(s)} after it finished: find out what, then delete it by hand`,
      });
    }
  }
  return inspect;
}
