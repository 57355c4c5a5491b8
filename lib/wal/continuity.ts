import { timelineOfSegment, type TimelineSpan } from './history.ts';
import { parseWalFileName, segmentName, segmentNumber } from './names.ts';

// One WAL file as the repository listing shows it.
export interface ArchivedFile {
  name: string;
  /** data object and sidecar both present: fetch can restore it */
  complete: boolean;
  /** stored size of the data object when it is stored uncompressed (it must then equal the segment size) */
  rawSize?: number;
  /** when the data object was written */
  modified?: Date;
}

// A run of consecutive missing segments, named by its first and last file.
export interface MissingRange {
  first: string;
  last: string;
  count: number;
}

export interface Continuity {
  first: string;
  last: string;
  expected: number;
  missing: MissingRange[];
  missingCount: number;
  /** uncompressed segments whose size is not the server's wal_segment_size */
  wrongSize: { name: string; size: number }[];
}

// The segment number of a file of kind segment on the chain (the one recovery would read for that number), else undefined.
export function chainSegment(name: string, chain: readonly TimelineSpan[], segmentSize: number, kinds: readonly string[] = ['segment']): number | undefined {
  const f = parseWalFileName(name);
  if (!f || !kinds.includes(f.kind)) return undefined;
  const segno = segmentNumber(f, segmentSize);
  if (segno === undefined) return undefined;
  return timelineOfSegment(chain, segno, segmentSize) === f.timeline ? segno : undefined;
}

// Checks that every segment from start to end (on the timelines recovery would follow) is archived and complete.
export function checkContinuity(files: ReadonlyMap<string, ArchivedFile>, chain: readonly TimelineSpan[], start: number, end: number, segmentSize: number): Continuity {
  const name = (segno: number) => segmentName(timelineOfSegment(chain, segno, segmentSize), segno, segmentSize);
  const missing: MissingRange[] = [];
  const wrongSize: { name: string; size: number }[] = [];
  let run: MissingRange | undefined;
  for (let segno = start; segno <= end; segno++) {
    const n = name(segno);
    const f = files.get(n);
    if (f?.complete) {
      run = undefined;
      if (f.rawSize !== undefined && f.rawSize !== segmentSize) wrongSize.push({ name: n, size: f.rawSize });
      continue;
    }
    if (run) {
      run.last = n;
      run.count++;
    } else {
      run = { first: n, last: n, count: 1 };
      missing.push(run);
    }
  }
  const expected = Math.max(0, end - start + 1);
  return { first: name(start), last: name(end), expected, missing, missingCount: missing.reduce((s, r) => s + r.count, 0), wrongSize };
}

export type Window = { mode: 'all' } | { mode: 'backup' } | { mode: 'since'; ms: number };

// Where the continuity check starts: the oldest segment on the chain (all), the start of the oldest base backup whose
// label is archived (backup, else all), or the oldest segment archived within the window (since).
export function windowStart(files: ReadonlyMap<string, ArchivedFile>, chain: readonly TimelineSpan[], segmentSize: number, window: Window, now: Date): { start: number; basis: string } | undefined {
  const onChain = (kinds: string[]) =>
    [...files.values()].flatMap((f) => {
      const segno = chainSegment(f.name, chain, segmentSize, kinds);
      return segno === undefined || !f.complete ? [] : [{ f, segno }];
    });
  if (window.mode === 'backup') {
    const labels = onChain(['backup']).sort((a, b) => a.segno - b.segno);
    if (labels.length) return { start: labels[0].segno, basis: `the oldest base backup label ${labels[0].f.name}` };
  }
  if (window.mode === 'since') {
    const since = now.getTime() - window.ms;
    const recent = onChain(['segment']).filter(({ f }) => f.modified && f.modified.getTime() >= since).sort((a, b) => a.segno - b.segno);
    return recent.length ? { start: recent[0].segno, basis: `the oldest segment archived in the window, ${recent[0].f.name}` } : undefined;
  }
  const all = onChain(['segment']).sort((a, b) => a.segno - b.segno);
  return all.length ? { start: all[0].segno, basis: `the oldest archived segment ${all[0].f.name}${window.mode === 'backup' ? ' (no base backup label in the archive)' : ''}` } : undefined;
}

// A missing range as messages write it: one name, or first..last with the count.
export function describeRange(r: MissingRange): string {
  return r.count === 1 ? r.first : `${r.first}..${r.last} (${r.count} segments)`;
}
