import path from 'node:path';
import { ExitCode, messageOf, PgopsError } from '../../errors.ts';
import { setPrefix, LEASE_FILE, MANIFEST_FILE, classifyKey, isTempKey, sidecarKey, walFolder, type Compression } from '../../repo/layout.ts';
import { outsideSet, parseManifest, storedDigest } from '../../repo/manifest.ts';
import type { Repo, StoredObject } from '../../repo/repo.ts';
import { SealedRepo } from '../../repo/sealed.ts';
import { listSets, type BackupSet } from '../../repo/sets.ts';
import { formatDuration } from '../../units.ts';
import type { ArchivedFile } from '../../wal/continuity.ts';
import { parseWalFileName } from '../../wal/names.ts';
import { archiveFiles } from '../wal/check/repository.ts';
import type { Finding } from './grade.ts';

// A file of a backup set to read: its manifest lists it and the listing shows it with the listed size.
export interface SetFileCheck {
  kind: 'set';
  /** "<database>/<backup id>", the set it belongs to */
  set: string;
  key: string;
  manifestKey: string;
  size: number;
  sha256: string;
  /** in an encrypted repository: the stored age file's size and sha256 */
  sealed?: { size: number; sha256: string };
}

// An archived WAL file to read: its sidecar, and the data objects stored under its name (one, unless something
// else wrote there).
export interface WalFileCheck {
  kind: 'wal';
  systemId: string;
  name: string;
  sidecarKey: string;
  data: { key: string; size: number; compression: Compression; modified: Date }[];
}

export type CheckItem = SetFileCheck | WalFileCheck;

// One database system's WAL folder, as the listing shows it.
export interface WalSystem {
  systemId: string;
  /** the folder, as messages print it */
  folder: string;
  files: Map<string, ArchivedFile>;
  /** WAL files with a sidecar: the ones verify reads */
  withSidecar: number;
}

export interface VerifyPlan {
  sets: BackupSet[];
  items: CheckItem[];
  systems: WalSystem[];
  /** what the listing alone shows: missing files, wrong sizes, manifests that do not parse, leftovers */
  findings: Finding[];
  /** files a manifest or sidecar lists, whether they are read or already known missing or of another size */
  listed: number;
}

/** an incomplete set, a temp file or a WAL data object without sidecar untouched this long is left over, not in progress */
export const LEFTOVER_AGE_MS = 24 * 3_600_000;

// A leftover's level: a warning once nothing touched it for LEFTOVER_AGE_MS, else a note (a writer may be at work).
function leftover(now: Date, newest: Date, text: (age: string) => string, kind: Finding['kind'], key: string): Finding {
  const ageMs = Math.max(0, now.getTime() - newest.getTime());
  return { level: ageMs > LEFTOVER_AGE_MS ? 1 : 0, kind, key, text: text(formatDuration(ageMs)) };
}

// Why a set's manifest cannot be used, read again to learn the cause: a damaged manifest is CRITICAL, a newer format
// or a failed read UNKNOWN (this pgops cannot vouch for the set either way).
async function manifestFinding(repo: Repo, key: string): Promise<Finding> {
  try {
    parseManifest(await repo.getBytes(key), key);
    return { level: 3, kind: 'unreadable', key, text: `${key} could not be read while listing the sets; it reads now: run verify again` };
  } catch (err) {
    if (err instanceof PgopsError && err.code === ExitCode.INTEGRITY) return { level: 2, kind: 'manifest', key, text: `${messageOf(err)}: the set cannot be restored` };
    if (err instanceof PgopsError && err.code === ExitCode.UNKNOWN) return { level: 3, kind: 'manifest', key, text: messageOf(err) };
    return { level: 3, kind: 'unreadable', key, text: `${key} cannot be read: ${messageOf(err)}` };
  }
}

// What to check of the sets: every listed file, by name; what the listing already shows wrong becomes a finding.
async function planSets(repo: Repo, sets: readonly BackupSet[], now: Date, plan: VerifyPlan): Promise<void> {
  for (const set of sets) {
    const prefix = setPrefix(set.database, set.id);
    const manifestKey = prefix + MANIFEST_FILE;
    if (set.status === 'incomplete') {
      const newest = set.objects.reduce((t, o) => (o.modified > t ? o.modified : t), set.time);
      const text = (age: string) => `${prefix} has no manifest, and nothing in it changed for ${age}: a backup that did not finish, or one still running (prune removes it after --incomplete-grace)`;
      plan.findings.push(leftover(now, newest, text, 'incomplete', prefix));
      continue;
    }
    if (set.status === 'unreadable' || !set.manifest) {
      plan.findings.push(await manifestFinding(repo, manifestKey));
      continue;
    }
    const stored = new Map(set.objects.map((o) => [o.key, o]));
    const known = new Set([manifestKey]);
    for (const f of set.manifest.files) {
      if (known.has(prefix + f.path)) {
        plan.findings.push({ level: 2, kind: 'manifest', key: manifestKey, text: `${manifestKey} lists ${f.path} twice: the manifest cannot be trusted` });
        continue;
      }
      plan.listed++;
      const outside = outsideSet(f.path);
      if (outside) {
        plan.findings.push({ level: 2, kind: 'manifest', key: manifestKey, text: `${manifestKey} lists ${outside}, ${JSON.stringify(f.path)}: nothing outside the set is read, and the manifest cannot be trusted` });
        continue;
      }
      const key = prefix + f.path;
      known.add(key);
      const o = stored.get(key);
      if (!o) plan.findings.push({ level: 2, kind: 'missing', key, text: `${key} is missing (listed in its manifest)` });
      else if (o.size !== storedDigest(f).size) plan.findings.push({ level: 2, kind: 'damaged', key, text: `${key} has ${o.size} bytes, its manifest lists ${storedDigest(f).size}` });
      else plan.items.push({ kind: 'set', set: `${set.database}/${set.id}`, key, manifestKey, size: f.size, sha256: f.sha256, ...(f.sealed ? { sealed: f.sealed } : {}) });
    }
    for (const o of set.objects) {
      if (known.has(o.key)) continue;
      // the lease of a finished backup whose credential may not delete (a write-only backup host): pgops wrote it
      if (o.key === `${prefix}${LEASE_FILE}`) continue;
      if (isTempKey(o.key)) plan.findings.push(leftover(now, o.modified, (age) => `${o.key} is a temp file of a write, untouched for ${age}`, 'temp', o.key));
      else plan.findings.push({ level: 1, kind: 'unlisted', key: o.key, text: `${o.key} is not listed in its set's manifest: no restore reads it, and pgops did not write it there` });
    }
  }
}

// What to check of one WAL folder: each WAL file with a sidecar; data objects without one, temp files and objects
// that are not WAL files become findings.
function planWalFolder(systemId: string, objects: readonly StoredObject[], url: string, now: Date, plan: VerifyPlan, sealed: boolean): void {
  const names = new Map<string, { sidecar?: StoredObject; data: WalFileCheck['data'] }>();
  const entry = (name: string) => names.get(name) ?? names.set(name, { data: [] }).get(name)!;
  for (const o of objects) {
    const base = path.posix.basename(o.key);
    if (isTempKey(o.key)) {
      plan.findings.push(leftover(now, o.modified, (age) => `${o.key} is a temp file of a wal push, untouched for ${age}`, 'temp', o.key));
      continue;
    }
    const k = classifyKey(base);
    if (!k || !parseWalFileName(k.name)) {
      plan.findings.push({ level: 1, kind: 'unlisted', key: o.key, text: `${o.key} is not an archived WAL file or sidecar: something other than pgops writes into the WAL folder` });
      continue;
    }
    if (k.role === 'sidecar') entry(k.name).sidecar = o;
    else entry(k.name).data.push({ key: o.key, size: o.size, compression: k.compression, modified: o.modified });
  }
  let withSidecar = 0;
  for (const [name, e] of names) {
    if (e.sidecar) {
      withSidecar++;
      plan.listed++;
      plan.items.push({ kind: 'wal', systemId, name, sidecarKey: sidecarKey(systemId, name), data: e.data });
      continue;
    }
    for (const d of e.data) {
      plan.findings.push(leftover(now, d.modified, (age) => `${d.key} has no sidecar (untouched for ${age}): a wal push did not finish, so fetch and recovery do not use it; pushing ${name} again completes it`, 'orphan', d.key));
    }
  }
  plan.systems.push({ systemId, folder: `${url.replace(/\/$/, '')}/${walFolder(systemId)}/`, files: archiveFiles(objects.filter((o) => !isTempKey(o.key)), sealed), withSidecar });
}

// Everything verify will read, from two listings (the sets, the WAL folders): nothing is read here but manifests.
// With a database, only its sets, and the WAL of the systems its manifests name.
export async function planVerify(repo: Repo, o: { database?: string; now: Date }): Promise<VerifyPlan> {
  const sets = (await listSets(repo, o.database)).filter((s) => o.database === undefined || s.database === o.database);
  const plan: VerifyPlan = { sets, items: [], systems: [], findings: [], listed: 0 };
  await planSets(repo, sets, o.now, plan);
  const wanted = o.database === undefined ? undefined : new Set(sets.flatMap((s) => (s.manifest?.server.systemIdentifier ? [s.manifest.server.systemIdentifier] : [])));
  const folders = new Map<string, StoredObject[]>();
  for (const obj of await repo.list('wal/')) {
    const systemId = obj.key.split('/')[1];
    if (wanted && !wanted.has(systemId)) continue;
    if (!/^\d+$/.test(systemId) || obj.key.split('/').length !== 3) {
      if (!wanted) plan.findings.push({ level: 1, kind: 'unlisted', key: obj.key, text: `${obj.key} is not in a WAL folder (wal/<system identifier>/): something other than pgops wrote it` });
      continue;
    }
    (folders.get(systemId) ?? folders.set(systemId, []).get(systemId)!).push(obj);
  }
  for (const [systemId, objects] of [...folders].sort(([a], [b]) => a.localeCompare(b))) planWalFolder(systemId, objects, repo.url, o.now, plan, repo instanceof SealedRepo);
  return plan;
}
