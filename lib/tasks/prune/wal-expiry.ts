import path from 'node:path';
import { classifyKey, walFolder } from '../../repo/layout.ts';
import type { StoredObject } from '../../repo/repo.ts';
import { parseWalFileName, type WalFileKind, type WalFileName } from '../../wal/names.ts';
import { nextDeletable, type LockHold } from './plan.ts';

// Which archived WAL files of one system prune may delete. A kept base backup needs every WAL file from its start
// segment on to become consistent and to reach any later moment, on whatever timeline that moment lies; a later
// timeline may branch below an older backup's start, so the cutoff is the lowest start segment of all kept complete
// base backups, compared by segment number whatever the timeline. Below it, segments, .partial and .backup files of
// every timeline go; .history files always stay (they are tiny, and recovery reads every one of them to find its
// way to the newest timeline). Without a kept complete base backup nothing goes: the WAL may be all a person has.

// One WAL file as stored: its data object(s) and its sidecar, the sidecar first (the order they are deleted in).
export interface StoredWalFile {
  name: string;
  kind: WalFileKind;
  timeline: number;
  keys: string[];
  bytes: number;
}

// A kept complete base backup as the rule reads it: its id and where its WAL starts.
export interface KeptBaseBackup {
  id: string;
  manifest: { start: { segment: string }; wal: { first: string } };
}

// The plan for one system's WAL.
export interface WalExpiry {
  systemIdentifier: string;
  /** nothing is deleted on purpose: why ("no base backup: WAL kept") */
  keptBecause?: string;
  /** the WAL file the kept range starts at, and the kept base backup whose start it is */
  cutoff?: { segment: string; backupId: string };
  /** what goes, oldest first */
  doomed: StoredWalFile[];
  /** what stays: WAL files (names) and their bytes, sidecars included */
  kept: { files: number; bytes: number };
  /** files below the cutoff that object lock holds (counted in kept too), and when the first of them becomes deletable */
  locked?: { files: number; bytes: number; next?: string };
}

// The WAL files a listing of wal/<system>/ holds, oldest first (segment position, then name). Objects that are no
// WAL file (temp files of pushes in progress, anything else) are left out: prune never touches them.
export function storedWalFiles(systemIdentifier: string, objects: readonly StoredObject[]): StoredWalFile[] {
  const folder = `${walFolder(systemIdentifier)}/`;
  const byName = new Map<string, { parsed: WalFileName; sidecars: StoredObject[]; data: StoredObject[] }>();
  for (const o of objects) {
    // only files directly in this system's folder (wal/123/ must not take wal/1234/'s files)
    if (!o.key.startsWith(folder) || o.key.slice(folder.length).includes('/')) continue;
    const k = classifyKey(path.posix.basename(o.key));
    const parsed = k && parseWalFileName(k.name);
    if (!k || !parsed) continue;
    const entry = byName.get(k.name) ?? { parsed, sidecars: [], data: [] };
    (k.role === 'sidecar' ? entry.sidecars : entry.data).push(o);
    byName.set(k.name, entry);
  }
  return [...byName.values()]
    .map(({ parsed, sidecars, data }) => ({
      name: parsed.name,
      kind: parsed.kind,
      timeline: parsed.timeline,
      keys: [...sidecars, ...data].map((o) => o.key),
      bytes: [...sidecars, ...data].reduce((s, o) => s + o.size, 0),
    }))
    .sort(compareFiles);
}

// Oldest first: by segment position (history files, which have none, first), then by name.
function compareFiles(a: StoredWalFile, b: StoredWalFile): number {
  const pa = position(parseWalFileName(a.name)!);
  const pb = position(parseWalFileName(b.name)!);
  return (pa?.[0] ?? -1) - (pb?.[0] ?? -1) || (pa?.[1] ?? -1) - (pb?.[1] ?? -1) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

// A file's segment position as its name's log and seg parts: within one system (one segment size) their order is
// the segment numbers' order, so no segment size is needed. History files have none.
function position(f: WalFileName): [number, number] | undefined {
  return f.log === undefined || f.seg === undefined ? undefined : [f.log, f.seg];
}

function below(f: WalFileName, cutoff: [number, number]): boolean {
  const p = position(f)!;
  return p[0] < cutoff[0] || (p[0] === cutoff[0] && p[1] < cutoff[1]);
}

// Plans one system's WAL: what goes below the cutoff of the kept complete base backups, and what stays. `blocked`
// keeps everything, with its reason (a base backup whose manifest cannot be read may need any of it).
export function planWalExpiry(systemIdentifier: string, files: readonly StoredWalFile[], kept: readonly KeptBaseBackup[], blocked?: string): WalExpiry {
  const all = { files: files.length, bytes: files.reduce((s, f) => s + f.bytes, 0) };
  const keepAll = (keptBecause: string): WalExpiry => ({ systemIdentifier, keptBecause, doomed: [], kept: all });
  if (blocked) return keepAll(blocked);
  let cutoff: { segment: string; backupId: string; at: [number, number] } | undefined;
  for (const b of kept) {
    for (const segment of [b.manifest.wal.first, b.manifest.start.segment]) {
      const f = parseWalFileName(segment);
      if (f?.kind !== 'segment') return keepAll(`base backup ${b.id} names no valid start segment (${JSON.stringify(segment)}): WAL kept`);
      const at = position(f)!;
      if (!cutoff || below(f, cutoff.at) || (at[0] === cutoff.at[0] && at[1] === cutoff.at[1] && segment < cutoff.segment)) cutoff = { segment, backupId: b.id, at };
    }
  }
  if (!cutoff) return keepAll('no base backup: WAL kept');
  const at = cutoff.at;
  const doomed = files.filter((f) => {
    const parsed = parseWalFileName(f.name)!;
    return parsed.kind !== 'history' && below(parsed, at);
  });
  const bytes = doomed.reduce((s, f) => s + f.bytes, 0);
  return { systemIdentifier, cutoff: { segment: cutoff.segment, backupId: cutoff.backupId }, doomed, kept: { files: all.files - doomed.length, bytes: all.bytes - bytes } };
}

// The plan with object lock applied: the files below the cutoff that a lock holds (by name) stay, counted as kept and
// as locked; the rest still go, oldest first.
export function keepLockedWal(plan: WalExpiry, holds: ReadonlyMap<string, LockHold>): WalExpiry {
  const held = plan.doomed.filter((f) => holds.has(f.name));
  if (held.length === 0) return plan;
  const bytes = held.reduce((s, f) => s + f.bytes, 0);
  return {
    ...plan,
    doomed: plan.doomed.filter((f) => !holds.has(f.name)),
    kept: { files: plan.kept.files + held.length, bytes: plan.kept.bytes + bytes },
    locked: { files: held.length, bytes, next: nextDeletable(held.map((f) => holds.get(f.name))) },
  };
}
