import path from 'node:path';
import { requireRepository } from '../../../check/repository.ts';
import { messageOf } from '../../../errors.ts';
import { classifyKey, walFolder } from '../../../repo/layout.ts';
import type { Repo, StoredObject } from '../../../repo/repo.ts';
import { chainSegment, checkContinuity, windowStart, type ArchivedFile, type Continuity, type Window } from '../../../wal/continuity.ts';
import { parseHistory, timelineChain, timelineOfSegment, type TimelineSpan } from '../../../wal/history.ts';
import { historyFileName, parseWalFileName, segmentNumber } from '../../../wal/names.ts';
import { readArchivedBytes, readSidecar } from '../archived.ts';
import { baseBackupWindowStart } from './backup-window.ts';
import { SealedRepo } from '../../../repo/sealed.ts';

// What the repository side found: the files, the timelines followed, and the continuity of the checked range.
export interface RepositoryFacts {
  folder: string;
  files: number;
  chain: TimelineSpan[];
  /** set when the current timeline's history file is missing or unreadable */
  historyProblem?: string;
  /** why the check starts where it does */
  basis?: string;
  continuity?: Continuity;
  /** nothing to check yet: why */
  nothing?: string;
}

// Lists the system's WAL folder: each WAL file name with whether both its data object and its sidecar exist.
export async function listArchive(repo: Repo, systemId: string): Promise<Map<string, ArchivedFile>> {
  return archiveFiles(await repo.list(walFolder(systemId)), repo instanceof SealedRepo);
}

// The WAL files a listing of one WAL folder shows (pgops verify lists the folder itself). sealed: the repository is
// encrypted, so a data object's listed size is its age file's, not the segment's (the sidecar holds that).
export function archiveFiles(objects: readonly StoredObject[], sealed = false): Map<string, ArchivedFile> {
  const parts = new Map<string, { data?: { size: number; modified: Date; raw: boolean }; sidecar?: boolean }>();
  for (const o of objects) {
    const k = classifyKey(path.posix.basename(o.key));
    if (!k || !parseWalFileName(k.name)) continue;
    const p = parts.get(k.name) ?? {};
    if (k.role === 'sidecar') p.sidecar = true;
    else p.data = { size: o.size, modified: o.modified, raw: k.compression === 'none' && !sealed };
    parts.set(k.name, p);
  }
  const files = new Map<string, ArchivedFile>();
  for (const [name, p] of parts) {
    files.set(name, { name, complete: Boolean(p.data && p.sidecar), rawSize: p.data?.raw ? p.data.size : undefined, modified: p.data?.modified });
  }
  return files;
}

// The timelines recovery follows to reach `timeline`, read from its archived history file.
export async function archivedChain(repo: Repo, systemId: string, timeline: number): Promise<{ chain: TimelineSpan[]; problem?: string }> {
  if (timeline <= 1) return { chain: timelineChain([], timeline) };
  const name = historyFileName(timeline);
  try {
    const sidecar = await readSidecar(repo, systemId, name);
    if (!sidecar) return { chain: timelineChain([], timeline), problem: `${name} is not in the archive: recovery cannot follow the switch to timeline ${timeline}` };
    const text = (await readArchivedBytes(repo, systemId, sidecar)).toString('utf8');
    return { chain: timelineChain(parseHistory(text, timeline), timeline) };
  } catch (err) {
    return { chain: timelineChain([], timeline), problem: `${name} cannot be read: ${messageOf(err)}` };
  }
}

// The newest segment the archive must hold, from what the server says it archived last.
export function endSegment(lastArchived: string | null, chain: readonly TimelineSpan[], segmentSize: number, files: ReadonlyMap<string, ArchivedFile>): number | undefined {
  const f = lastArchived ? parseWalFileName(lastArchived) : undefined;
  const segno = f ? segmentNumber(f, segmentSize) : undefined;
  if (f && segno !== undefined && chain.some((s) => s.timeline === f.timeline)) {
    // a .partial or a backup label may be archived before the segment it names is complete
    if (f.kind === 'segment' && timelineOfSegment(chain, segno, segmentSize) === f.timeline) return segno;
    return segno - 1;
  }
  // no usable name (a history file, or stats were reset): the newest archived segment on the chain
  let newest: number | undefined;
  for (const name of files.keys()) {
    const s = chainSegment(name, chain, segmentSize);
    if (s !== undefined && (newest === undefined || s > newest)) newest = s;
  }
  return newest;
}

// Checks the repository side: history of the current timeline, then continuity from the window's start to the end
// (--wal-window backup: from the oldest complete base backup's start, backup-window.ts).
export async function checkRepository(
  repo: Repo,
  o: { systemId: string; timeline: number; segmentSize: number; lastArchived: string | null; window: Window; now: Date },
): Promise<RepositoryFacts> {
  const files = await listArchive(repo, o.systemId);
  if (files.size === 0) await requireRepository(repo);
  const { chain, problem } = await archivedChain(repo, o.systemId, o.timeline);
  const facts: RepositoryFacts = { folder: `${repo.url.replace(/\/$/, '')}/${walFolder(o.systemId)}/`, files: files.size, chain, historyProblem: problem };
  const end = endSegment(o.lastArchived, chain, o.segmentSize, files);
  if (end === undefined) {
    facts.nothing = files.size ? `no segment of timeline ${o.timeline} or its ancestors in the archive yet` : 'the archive holds no WAL of this system yet';
    return facts;
  }
  // backup: the oldest complete base backup's start, else (no base backup on this chain) the oldest .backup label
  const fromBaseBackup = o.window.mode === 'backup' ? await baseBackupWindowStart(repo, o.systemId, chain, o.segmentSize) : undefined;
  const start = fromBaseBackup ?? windowStart(files, chain, o.segmentSize, o.window, o.now);
  // nothing archived inside the window: at least the newest segment must be there
  const from = start && start.start <= end ? start : { start: end, basis: 'the segment the server archived last' };
  facts.basis = from.basis;
  facts.continuity = checkContinuity(files, chain, from.start, end, o.segmentSize);
  return facts;
}
