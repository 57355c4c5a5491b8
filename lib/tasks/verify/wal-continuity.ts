import { walFolder } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import { formatSize } from '../../units.ts';
import { chainSegment, checkContinuity, describeRange, windowStart, type ArchivedFile, type Continuity, type MissingRange } from '../../wal/continuity.ts';
import { isValidSegmentSize, parseWalFileName, segmentNumber } from '../../wal/names.ts';
import { archivedChain, endSegment } from '../wal/check/repository.ts';
import type { SegmentSizes } from './checks.ts';
import type { Finding } from './grade.ts';
import type { WalSystem } from './plan.ts';

// What verify found of one WAL archive's continuity.
export interface WalArchiveReport {
  systemIdentifier: string;
  folder: string;
  /** WAL files with a sidecar */
  files: number;
  timelines: number[];
  segmentSize: number | null;
  /** the oldest base backup label on the timelines followed: WAL from it on is needed by a backup */
  oldestBackupLabel: string | null;
  continuity: Continuity | null;
}

// The segment size of the archive: the size most segment sidecars list.
function commonSize(sizes: SegmentSizes | undefined): number | undefined {
  let best: { size: number; count: number } | undefined;
  for (const [size, e] of sizes ?? []) if (!best || e.count > best.count) best = { size, count: e.count };
  return best?.size;
}

// The segment number a missing range ends at.
function lastSegno(r: MissingRange, segmentSize: number): number {
  return segmentNumber(parseWalFileName(r.last)!, segmentSize)!;
}

// The oldest base backup label on the chain, with the segment it starts in.
function oldestLabel(files: ReadonlyMap<string, ArchivedFile>, chain: Parameters<typeof chainSegment>[1], segmentSize: number): { name: string; segno: number } | undefined {
  let oldest: { name: string; segno: number } | undefined;
  for (const f of files.values()) {
    const segno = f.complete ? chainSegment(f.name, chain, segmentSize, ['backup']) : undefined;
    if (segno !== undefined && (!oldest || segno < oldest.segno)) oldest = { name: f.name, segno };
  }
  return oldest;
}

// Judges one archive as recovery would read it: the newest timeline's history, then every segment from the oldest
// archived one to the newest on the timelines it follows (as `wal check --wal-window all` does, without a server:
// the segment size comes from the sidecars, the end from the archive). A gap from the oldest base backup label on is
// CRITICAL (that backup cannot be recovered past it); an older gap, which no backup in the archive needs, a WARNING.
export async function judgeWal(repo: Repo, system: WalSystem, sizes: SegmentSizes | undefined, now: Date): Promise<{ report: WalArchiveReport; findings: Finding[] }> {
  const findings: Finding[] = [];
  const { folder, files } = system;
  const report: WalArchiveReport = { systemIdentifier: system.systemId, folder, files: system.withSidecar, timelines: [], segmentSize: null, oldestBackupLabel: null, continuity: null };
  const segmentSize = commonSize(sizes);
  if (segmentSize === undefined) {
    findings.push({ level: 0, kind: 'ok', key: `${walFolder(system.systemId)}/`, text: `${folder}: ${system.withSidecar} WAL files, no readable segment: nothing to check for continuity` });
    return { report, findings };
  }
  report.segmentSize = segmentSize;
  if (!isValidSegmentSize(segmentSize)) {
    findings.push({ level: 2, kind: 'wal', text: `${folder}: the segments' sidecars list ${segmentSize} bytes, which is no wal_segment_size: the sidecars are not pgops's` });
    return { report, findings };
  }
  for (const [size, e] of sizes!) {
    if (size === segmentSize) continue;
    findings.push({ level: 2, kind: 'wal', text: `${folder}: ${e.count} segment(s) are ${size} bytes, not ${formatSize(segmentSize)} like the others: ${e.names.join(', ')}${e.count > e.names.length ? ', ...' : ''}` });
  }
  const complete = new Map([...files].filter(([, f]) => f.complete));
  const timeline = Math.max(1, ...[...complete.keys()].map((n) => parseWalFileName(n)!.timeline));
  const { chain, problem } = await archivedChain(repo, system.systemId, timeline);
  report.timelines = chain.map((c) => c.timeline);
  if (problem) findings.push({ level: 2, kind: 'wal', text: `${folder}: ${problem}` });
  const end = endSegment(null, chain, segmentSize, complete);
  const start = windowStart(files, chain, segmentSize, { mode: 'all' }, now);
  if (end === undefined || !start) {
    findings.push({ level: 0, kind: 'ok', key: `${walFolder(system.systemId)}/`, text: `${folder}: no segment of timeline ${timeline} or its ancestors: nothing to check for continuity` });
    return { report, findings };
  }
  const label = oldestLabel(files, chain, segmentSize);
  report.oldestBackupLabel = label?.name ?? null;
  const c = checkContinuity(files, chain, start.start, end, segmentSize);
  report.continuity = c;
  for (const r of c.missing) {
    if (label && lastSegno(r, segmentSize) >= label.segno) {
      findings.push({ level: 2, kind: 'wal', key: `${walFolder(system.systemId)}/${r.first}`, text: `${folder}: WAL ${describeRange(r)} is missing: base backups from ${label.name} on cannot be recovered past it` });
    } else {
      const before = label ? `older than the oldest base backup label ${label.name}` : 'and the archive holds no base backup label';
      findings.push({ level: 1, kind: 'wal', key: `${walFolder(system.systemId)}/${r.first}`, text: `${folder}: WAL ${describeRange(r)} is missing, ${before}: no backup in the archive needs it, but recovery cannot cross it` });
    }
  }
  for (const w of c.wrongSize) findings.push({ level: 2, kind: 'wal', key: `${walFolder(system.systemId)}/${w.name}`, text: `${folder}: ${w.name} is stored with ${w.size} bytes, not ${formatSize(segmentSize)}` });
  if (!c.missingCount) {
    const labelText = label ? `oldest base backup label ${label.name}` : 'no base backup label';
    findings.push({ level: 0, kind: 'ok', key: `${walFolder(system.systemId)}/`, text: `${folder}: ${system.withSidecar} WAL files, continuous from ${c.first} to ${c.last} (${c.expected} segments, timeline${chain.length > 1 ? 's' : ''} ${report.timelines.join(', ')}; ${labelText})` });
  }
  return { report, findings };
}
