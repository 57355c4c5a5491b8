import { ExitCode, PgopsError } from '../errors.ts';
import { listDrillReports, verifiedBackupIds } from './drill-reports.ts';
import { backupIdTime, MANIFEST_FILE, setOfKey, setPrefix, setsFolder } from './layout.ts';
import { type Manifest, listedPathProblems, parseManifest, storedDigest } from './manifest.ts';
import type { Repo, StoredObject } from './repo.ts';

// What a set is, judged from the repository listing alone (nothing is hashed here; restore checks every sha256).
// complete: the manifest parses and every file it lists is stored with the listed size. incomplete: no manifest,
// the backup did not finish or is running. unreadable: a manifest that does not parse, or is newer than this pgops
// reads. damaged: the manifest parses, but a file it lists is missing or has another size, or a path it lists is not
// a file inside the set (../../etc/hostname: nothing outside the set is ever read).
export type SetStatus = 'complete' | 'incomplete' | 'unreadable' | 'damaged';

// One backup set as found in the repository.
export interface BackupSet {
  database: string;
  id: string;
  time: Date;
  status: SetStatus;
  /** status === 'complete': the only sets latest, verified, status, drill and prune's rules use */
  complete: boolean;
  /** the parsed manifest: set when complete or damaged */
  manifest?: Manifest;
  /** every stored object of the set, manifest included */
  objects: StoredObject[];
  /** size from the manifest when complete, else what is stored */
  size: number;
  /** why the set is not complete: for a damaged set, every file that is wrong */
  problem?: string;
}

// At most this many wrong files are named in a damaged set's problem; a directory-format dump may have thousands.
const NAMED_FILES = 5;

// What is wrong with a set's files against its manifest ("dump is missing; globals.sql has 10 bytes, the manifest
// lists 24"), or undefined when every listed file is stored with its listed size.
export function fileProblems(manifest: Pick<Manifest, 'files'>, prefix: string, objects: readonly StoredObject[]): string | undefined {
  const stored = new Map(objects.map((o) => [o.key, o.size]));
  const wrong: string[] = [];
  for (const f of manifest.files) {
    const size = stored.get(prefix + f.path);
    const listed = storedDigest(f).size;
    if (size === undefined) wrong.push(`${f.path} is missing`);
    else if (size !== listed) wrong.push(`${f.path} has ${size} bytes, the manifest lists ${listed}`);
  }
  if (wrong.length === 0) return undefined;
  const named = wrong.slice(0, NAMED_FILES);
  if (wrong.length > NAMED_FILES) named.push(`and ${wrong.length - NAMED_FILES} more listed files are missing or have another size`);
  return named.join('; ');
}

// How a stored folder stands against the manifest in it (a logical set's, or a base backup's: lib/repo/basebackups.ts),
// judged from the listing alone: complete, incomplete (no manifest), unreadable or damaged, and why; the size is the
// manifest's when complete, else what is stored.
export async function judgeFolder<M extends Pick<Manifest, 'files' | 'totalSize'>>(
  repo: Repo,
  prefix: string,
  objects: StoredObject[],
  parse: (text: Buffer, key: string) => M,
  what: string,
): Promise<{ status: SetStatus; complete: boolean; manifest?: M; objects: StoredObject[]; size: number; problem?: string }> {
  const key = prefix + MANIFEST_FILE;
  const stored = objects.reduce((sum, o) => sum + o.size, 0);
  if (!objects.some((o) => o.key === key)) {
    return { status: 'incomplete', complete: false, objects, size: stored, problem: `no manifest: ${what} did not finish, or is still running` };
  }
  let manifest: M;
  try {
    manifest = parse(await repo.getBytes(key), key);
  } catch (err) {
    return { status: 'unreadable', complete: false, objects, size: stored, problem: (err as Error).message };
  }
  const problem = listedPathProblems(manifest, NAMED_FILES) ?? fileProblems(manifest, prefix, objects);
  if (problem !== undefined) return { status: 'damaged', complete: false, manifest, objects, size: stored, problem };
  return { status: 'complete', complete: true, manifest, objects, size: manifest.totalSize };
}

// Every set in the repository (or of one database), newest first, each with its status.
export async function listSets(repo: Repo, database?: string): Promise<BackupSet[]> {
  const objects = await repo.list(setsFolder(database));
  const groups = new Map<string, { database: string; id: string; objects: StoredObject[] }>();
  for (const obj of objects) {
    const of = setOfKey(obj.key);
    if (!of) continue;
    const g = groups.get(of.folder) ?? { database: of.database, id: of.id, objects: [] };
    g.objects.push(obj);
    groups.set(of.folder, g);
  }
  const sets: BackupSet[] = [];
  for (const g of groups.values()) {
    const judged = await judgeFolder(repo, setPrefix(g.database, g.id), g.objects, parseManifest, 'the backup');
    sets.push({ ...g, time: backupIdTime(g.id)!, ...judged });
  }
  return sets.sort((a, b) => b.time.getTime() - a.time.getTime() || a.database.localeCompare(b.database));
}

// The databases that have sets in the repository.
export async function listDatabases(repo: Repo): Promise<string[]> {
  const sets = await listSets(repo);
  return [...new Set(sets.map((s) => s.database))].sort();
}

// The complete set a restore or drill asks for: an id, "latest" (the newest complete set), "verified" (the newest
// complete set whose newest restore drill passed), or "label:NAME" (the newest complete set made with --label NAME).
// Sets that are not complete are never returned.
export async function findSet(repo: Repo, database: string, which: string): Promise<BackupSet & { manifest: Manifest }> {
  const sets = (await listSets(repo, database)).filter((s) => s.database === database);
  const latest = sets.find((s) => s.complete) as (BackupSet & { manifest: Manifest }) | undefined;
  if (which.startsWith(LABEL_PREFIX)) return labelled(sets, database, which.slice(LABEL_PREFIX.length), repo.url);
  if (which === 'verified') {
    const verified = new Set(verifiedBackupIds(await listDrillReports(repo, database), database));
    const set = sets.find((s) => s.complete && verified.has(s.id));
    if (!set) {
      throw new PgopsError(`no backup of database "${database}" has passed its newest restore drill in ${repo.url}`, {
        code: ExitCode.NOT_FOUND,
        hint: 'use --backup latest (not proven by a drill), or run pgops drill first',
      });
    }
    return set as BackupSet & { manifest: Manifest };
  }
  if (which === 'latest') {
    if (!latest) {
      throw new PgopsError(`no complete backup of database "${database}" in ${repo.url}`, {
        code: ExitCode.NOT_FOUND,
        hint: sets.length ? `${countByStatus(sets)} exist: see pgops backups list` : 'run pgops backup first, or check --repo and the database name',
      });
    }
    return latest;
  }
  const set = sets.find((s) => s.id === which);
  if (!set) {
    throw new PgopsError(`backup ${which} of database "${database}" does not exist in ${repo.url}`, {
      code: ExitCode.NOT_FOUND,
      hint: 'list the sets with pgops backups list, or use --backup latest',
    });
  }
  if (!set.complete) {
    const other = latest ? `use --backup ${latest.id} (the newest complete set)` : `no set of database "${database}" is complete`;
    // A damaged set's files were removed or changed after the backup finished: the integrity exit code, as restore
    // gives when it finds a file missing or changed while checking sha256s.
    throw new PgopsError(`backup ${which} of database "${database}" is ${set.status}: ${set.problem}`, {
      code: set.status === 'damaged' ? ExitCode.INTEGRITY : ExitCode.NOT_FOUND,
      hint: `${other}; see pgops backups list`,
    });
  }
  return set as BackupSet & { manifest: Manifest };
}

// How --backup names a label: label:pre-migration-42.
export const LABEL_PREFIX = 'label:';

// The newest complete set with the label. None: exit 5, naming the labels there are; only sets that are not complete
// carry it: say what is wrong with the newest of them.
function labelled(sets: readonly BackupSet[], database: string, label: string, url: string): BackupSet & { manifest: Manifest } {
  const found = sets.find((s) => s.complete && s.manifest?.label === label);
  if (found) return found as BackupSet & { manifest: Manifest };
  const broken = sets.find((s) => s.manifest?.label === label);
  if (broken) {
    const other = sets.filter((s) => s.complete).length ? 'restore another set (pgops backups list), or take a new one with --label' : `no set of database "${database}" is complete`;
    throw new PgopsError(`backup ${broken.id} of database "${database}", labelled "${label}", is ${broken.status}: ${broken.problem}`, {
      code: broken.status === 'damaged' ? ExitCode.INTEGRITY : ExitCode.NOT_FOUND,
      hint: `no complete set carries the label; ${other}`,
    });
  }
  const labels = [...new Set(sets.flatMap((s) => (s.complete && s.manifest?.label !== undefined ? [s.manifest.label] : [])))];
  throw new PgopsError(`no backup of database "${database}" is labelled "${label}" in ${url}`, {
    code: ExitCode.NOT_FOUND,
    hint: labels.length
      ? `labels of its complete sets: ${labels.slice(0, 10).join(', ')}${labels.length > 10 ? `, and ${labels.length - 10} more` : ''} (see pgops backups list)`
      : 'none of its sets has a label: pgops backup --label NAME makes one; see pgops backups list',
  });
}

// "2 damaged and 1 incomplete set(s)": the sets that are not complete, by status.
function countByStatus(sets: readonly BackupSet[]): string {
  const counts = new Map<SetStatus, number>();
  for (const s of sets) if (!s.complete) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  return `${[...counts].map(([status, n]) => `${n} ${status}`).join(' and ')} set(s)`;
}
