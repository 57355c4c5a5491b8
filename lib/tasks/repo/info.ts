import path from 'node:path';
import { ExitCode } from '../../errors.ts';
import { listBaseBackups, type BaseBackup } from '../../repo/basebackups.ts';
import { listDrillReports } from '../../repo/drill-reports.ts';
import { notARepository, readIdentity, REPO_FILE, type RepoIdentity } from '../../repo/identity.ts';
import { classifyKey } from '../../repo/layout.ts';
import { nearbyRepositories } from '../../repo/nearby.ts';
import { openRepo } from '../../repo/open.ts';
import { pinState } from '../../repo/pin.ts';
import type { Repo, StoredObject } from '../../repo/repo.ts';
import { listSets, type BackupSet } from '../../repo/sets.ts';
import type { TaskHandler } from '../../task.ts';
import { formatSize } from '../../units.ts';
import { parseWalFileName } from '../../wal/names.ts';

interface DatabaseInfo {
  database: string;
  sets: number;
  complete: number;
  incomplete: number;
  damaged: number;
  unreadable: number;
  oldest: string | null;
  newest: string | null;
  newestComplete: string | null;
  bytes: number;
}

interface BaseBackupInfo {
  systemIdentifier: string;
  basebackups: number;
  complete: number;
  /** incomplete, damaged or unreadable */
  other: number;
  oldest: string | null;
  newestComplete: string | null;
  /** complete ones whose pin holds now */
  pinned: number;
  bytes: number;
}

interface WalInfo {
  systemIdentifier: string;
  files: number;
  first: string | null;
  last: string | null;
  bytes: number;
}

// pgops repo info: what a repository holds, per database, and per system its base backups and WAL; a reader, so an
// uninitialised location is described too (exit 1, with the hint to initialise it), and one that holds nothing is an
// error.
export const repoInfo: TaskHandler<'repo-info'> = async (ctx) => {
  const repo = await openRepo(ctx.options.repo, ctx.options, ctx.log);
  try {
    const identity = await readIdentity(repo);
    const sets = await listSets(repo);
    const databases = byDatabase(sets);
    const wal = walSystems(await repo.list('wal/'));
    const basebackups = bySystem(await listBaseBackups(repo), ctx.now());
    const drills = await listDrillReports(repo);
    if (!identity && !sets.length && !wal.length && !basebackups.length) {
      const near = await nearbyRepositories(repo).catch(() => []);
      throw notARepository(repo.url, 'everything', near.length ? `did you mean ${near.map((u) => `--repo ${u}`).join(' or ')}?` : `check --repo for a typo, or start one with pgops repo init --repo ${repo.url}`);
    }
    const bytes = databases.reduce((s, d) => s + d.bytes, 0) + wal.reduce((s, w) => s + w.bytes, 0) + basebackups.reduce((s, b) => s + b.bytes, 0);
    const lines = [
      identity
        ? `repository ${repo.url}: format ${identity.version}, created ${identity.createdAt} by pgops ${identity.tool?.version ?? '?'}${identity.conditionalWrites === false ? ' (store ignores conditional writes)' : ''}${settingsOf(identity)}`
        : `${repo.url} holds pgops data but has no ${REPO_FILE}: writers refuse it until pgops repo init --repo ${repo.url} adopts it`,
      ...databases.map(
        (d) =>
          `database ${JSON.stringify(d.database)}: ${d.sets} set(s), ${d.complete} complete${d.incomplete ? `, ${d.incomplete} incomplete` : ''}${d.damaged ? `, ${d.damaged} damaged` : ''}${d.unreadable ? `, ${d.unreadable} unreadable` : ''}; newest complete ${d.newestComplete ?? 'none'}, oldest ${d.oldest}; ${formatSize(d.bytes)}`,
      ),
      ...basebackups.map(
        (b) =>
          `base backups of system ${b.systemIdentifier}: ${b.basebackups}, ${b.complete} complete${b.other ? `, ${b.other} not complete` : ''}${b.pinned ? `, ${b.pinned} pinned` : ''}; newest complete ${b.newestComplete ?? 'none'}, oldest ${b.oldest}; ${formatSize(b.bytes)}`,
      ),
      ...wal.map((w) => `wal of system ${w.systemIdentifier}: ${w.files} file(s) from ${w.first} to ${w.last}; ${formatSize(w.bytes)}${basebackups.some((b) => b.systemIdentifier === w.systemIdentifier && b.complete) ? '' : ' (no complete base backup to replay it onto)'}`),
      `${drills.length} drill report(s); ${formatSize(bytes)} in all`,
    ];
    const summary = lines.join('\n');
    return {
      exitCode: identity ? ExitCode.OK : ExitCode.WARNING,
      summary,
      data: { ok: Boolean(identity), repo: repo.url, identity: identity ?? null, databases, basebackups, wal, drills: drills.length, bytes },
    };
  } finally {
    await repo.close();
  }
};

// The sets grouped per database, newest first within each.
function byDatabase(sets: readonly BackupSet[]): DatabaseInfo[] {
  const out = new Map<string, DatabaseInfo>();
  for (const s of sets) {
    const d = out.get(s.database) ?? { database: s.database, sets: 0, complete: 0, incomplete: 0, damaged: 0, unreadable: 0, oldest: null, newest: null, newestComplete: null, bytes: 0 };
    d.sets++;
    d[s.status]++;
    d.bytes += s.objects.reduce((n, o) => n + o.size, 0);
    if (d.newest === null || s.id > d.newest) d.newest = s.id;
    if (d.oldest === null || s.id < d.oldest) d.oldest = s.id;
    if (s.complete && (d.newestComplete === null || s.id > d.newestComplete)) d.newestComplete = s.id;
    out.set(s.database, d);
  }
  return [...out.values()].sort((a, b) => a.database.localeCompare(b.database));
}

// The base backups grouped per system.
function bySystem(backups: readonly BaseBackup[], now: Date): BaseBackupInfo[] {
  const out = new Map<string, BaseBackupInfo>();
  for (const b of backups) {
    const i = out.get(b.systemIdentifier) ?? { systemIdentifier: b.systemIdentifier, basebackups: 0, complete: 0, other: 0, oldest: null, newestComplete: null, pinned: 0, bytes: 0 };
    i.basebackups++;
    if (b.complete) i.complete++;
    else i.other++;
    i.bytes += b.objects.reduce((n, o) => n + o.size, 0);
    if (i.oldest === null || b.id < i.oldest) i.oldest = b.id;
    if (b.complete && (i.newestComplete === null || b.id > i.newestComplete)) i.newestComplete = b.id;
    if (b.complete && pinState(b.manifest?.pinnedUntil, now).state === 'holds') i.pinned++;
    out.set(b.systemIdentifier, i);
  }
  return [...out.values()].sort((a, b) => a.systemIdentifier.localeCompare(b.systemIdentifier));
}

// The WAL folders: per system, the archived files (data objects with a WAL name) and their range.
function walSystems(objects: readonly StoredObject[]): WalInfo[] {
  const out = new Map<string, WalInfo>();
  for (const o of objects) {
    const parts = o.key.split('/');
    if (parts.length !== 3) continue;
    const w = out.get(parts[1]) ?? { systemIdentifier: parts[1], files: 0, first: null, last: null, bytes: 0 };
    w.bytes += o.size;
    const k = classifyKey(path.posix.basename(o.key));
    if (k?.role === 'data' && parseWalFileName(k.name)?.kind === 'segment') {
      w.files++;
      if (w.first === null || k.name < w.first) w.first = k.name;
      if (w.last === null || k.name > w.last) w.last = k.name;
    }
    out.set(parts[1], w);
  }
  return [...out.values()];
}

// What every writer must honour, as repo info names it: encryption and object lock.
function settingsOf(identity: RepoIdentity): string {
  const enc = identity.encryption;
  const parts = [
    enc ? (enc.passphrase ? 'encrypted with a passphrase (age scrypt)' : `encrypted to ${enc.recipients.join(', ')}${enc.previous?.length ? ` (earlier recipients not re-wrapped yet: ${enc.previous.join(', ')})` : ''}`) : '',
    identity.objectLock ? `object lock ${identity.objectLock.mode} ${identity.objectLock.duration}` : '',
  ].filter(Boolean);
  return parts.length ? `; ${parts.join('; ')}` : '';
}
