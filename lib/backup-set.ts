import { listDrillReports, verifiedBackupIds } from './drill-report.ts';
import { ExitCode, PgopsError, usageError } from './errors.ts';
import { MANIFEST_FILE, type Manifest, parseManifest } from './manifest.ts';
import type { Repo, StoredObject } from './repo/repo.ts';

const ID_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

// A backup id for a moment: a UTC timestamp that sorts in time order, e.g. 20261122T031700Z.
export function backupIdFor(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

// The moment a backup id names; undefined when the text is not a backup id.
export function backupIdTime(id: string): Date | undefined {
  const m = ID_RE.exec(id);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

// A database name as a repository folder: percent-encoded so any name is one safe path segment.
export function dbFolder(database: string): string {
  return encodeURIComponent(database).replace(/^\./, '%2E').replace(/\*/g, '%2A');
}

export function setPrefix(database: string, id: string): string {
  return `backups/${dbFolder(database)}/${id}/`;
}

// One backup set as found in the repository.
export interface BackupSet {
  database: string;
  id: string;
  time: Date;
  /** a manifest exists and parses */
  complete: boolean;
  manifest?: Manifest;
  /** every stored object of the set, manifest included */
  objects: StoredObject[];
  /** size from the manifest when complete, else what is stored */
  size: number;
  /** why the set is not complete */
  problem?: string;
}

// Every set in the repository (or of one database), newest first; sets without a readable manifest are incomplete.
export async function listSets(repo: Repo, database?: string): Promise<BackupSet[]> {
  const objects = await repo.list(database === undefined ? 'backups/' : `backups/${dbFolder(database)}/`);
  const groups = new Map<string, { database: string; id: string; objects: StoredObject[] }>();
  for (const obj of objects) {
    const parts = obj.key.split('/');
    if (parts.length < 4 || parts[0] !== 'backups') continue;
    const id = parts[2];
    if (!backupIdTime(id)) continue;
    const db = decodeURIComponent(parts[1]);
    const g = groups.get(`${parts[1]}/${id}`) ?? { database: db, id, objects: [] };
    g.objects.push(obj);
    groups.set(`${parts[1]}/${id}`, g);
  }
  const sets: BackupSet[] = [];
  for (const g of groups.values()) {
    const set: BackupSet = { ...g, time: backupIdTime(g.id)!, complete: false, size: g.objects.reduce((s, o) => s + o.size, 0) };
    const manifestKey = setPrefix(g.database, g.id) + MANIFEST_FILE;
    if (g.objects.some((o) => o.key === manifestKey)) {
      try {
        set.manifest = parseManifest(await repo.getBytes(manifestKey), manifestKey);
        set.complete = true;
        set.size = set.manifest.totalSize;
      } catch (err) {
        set.problem = (err as Error).message;
      }
    } else {
      set.problem = 'no manifest: the backup did not finish, or is still running';
    }
    sets.push(set);
  }
  return sets.sort((a, b) => b.time.getTime() - a.time.getTime() || a.database.localeCompare(b.database));
}

// The databases that have sets in the repository.
export async function listDatabases(repo: Repo): Promise<string[]> {
  const sets = await listSets(repo);
  return [...new Set(sets.map((s) => s.database))].sort();
}

// The complete set a restore or drill asks for: an id, "latest" (the newest complete set), or "verified"
// (the newest complete set a restore drill passed on).
export async function findSet(repo: Repo, database: string, which: string): Promise<BackupSet & { manifest: Manifest }> {
  const sets = (await listSets(repo, database)).filter((s) => s.database === database);
  if (which === 'verified') {
    const verified = new Set(verifiedBackupIds(await listDrillReports(repo, database)));
    const set = sets.find((s) => s.complete && verified.has(s.id));
    if (!set) {
      throw new PgopsError(`no backup of database "${database}" has passed a restore drill in ${repo.url}`, {
        code: ExitCode.NOT_FOUND,
        hint: 'use --backup latest (not proven by a drill), or run pgops drill first',
      });
    }
    return set as BackupSet & { manifest: Manifest };
  }
  if (which === 'latest') {
    const latest = sets.find((s) => s.complete);
    if (!latest) {
      throw new PgopsError(`no complete backup of database "${database}" in ${repo.url}`, {
        code: ExitCode.NOT_FOUND,
        hint: sets.length ? `${sets.length} incomplete set(s) exist: see pgops backups list` : 'run pgops backup first, or check --repo and the database name',
      });
    }
    return latest as BackupSet & { manifest: Manifest };
  }
  const set = sets.find((s) => s.id === which);
  if (!set) {
    throw new PgopsError(`backup ${which} of database "${database}" does not exist in ${repo.url}`, {
      code: ExitCode.NOT_FOUND,
      hint: 'list the sets with pgops backups list, or use --backup latest',
    });
  }
  if (!set.complete) {
    throw new PgopsError(`backup ${which} of database "${database}" is incomplete: ${set.problem}`, {
      code: ExitCode.NOT_FOUND,
      hint: 'pick a complete set from pgops backups list, or --backup latest',
    });
  }
  return set as BackupSet & { manifest: Manifest };
}

// The database --db names, if any: a plain name, or the database of a postgresql:// URL.
export function databaseNameOf(db: unknown): string | undefined {
  if (db === undefined || db === '') return undefined;
  const text = String(db);
  if (!/^postgres(ql)?:\/\//.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The URL may hold a password: never repeat it.
    throw usageError('the --db URL cannot be parsed', 'pass the bare database name to --db, or write postgresql://user@host/dbname');
  }
  const name = url.searchParams.get('dbname') ?? decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw usageError('the --db URL names no database', 'pass the bare database name to --db, or write postgresql://user@host/dbname');
  return name;
}
