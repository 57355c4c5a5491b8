import type { DrillCheck } from '../../../repo/drill-reports.ts';
import type { ReplayStop } from '../../../repo/pitr-drill-reports.ts';
import { formatDuration } from '../../../units.ts';
import { parseLsn, segmentOfLsn, parseWalFileName, segmentNumber } from '../../../wal/names.ts';

// The checks a point-in-time drill grades from what it measured: pure, so each verdict has a unit test.

// The archive between the base backup and the end: a gap is a failure whatever the target, since a recovery to any
// later moment would stop there.
export function gapCheck(gap: string | undefined, wal: { first: string; last: string; segments: number } | undefined, detail?: string): DrillCheck {
  if (gap) return { name: 'wal archive', status: 'fail', detail: detail ?? `WAL file ${gap} is missing from the archive: recovery past it is impossible (find it in the primary's pg_wal or another copy, and pgops wal push it)`, expected: gap, found: null };
  return { name: 'wal archive', status: 'pass', detail: wal ? `continuous from ${wal.first} to ${wal.last} (${wal.segments} segments)` : 'no gap' };
}

// The recovery reached its target and the server promoted (what the drill asks of it).
export function targetCheck(target: string, end: ReplayStop): DrillCheck {
  const where = end.lsn ? ` at ${end.lsn}${end.timeline !== null ? `, now on timeline ${end.timeline}` : ''}` : '';
  const last = end.lastTransactionTime ? `; last replayed transaction at ${end.lastTransactionTime}` : '';
  if (end.reached) return { name: 'recovery target', status: 'pass', detail: `reached ${target}: replay stopped${where}, the server ${end.state}${last}` };
  return { name: 'recovery target', status: 'fail', detail: `did not reach ${target} (the server ${end.state}${where}): ${end.reason ?? 'no reason in the server log'}`, expected: target, found: end.state };
}

// For latest: replay reached the segment the archive ended with when the drill planned (the archive may have grown
// since, so a later one passes too). A recovery that promoted earlier lost the rest of the archive.
export function archiveEndCheck(end: ReplayStop, archiveEnd: { segment: string }, segmentSize: number): DrillCheck {
  const name = 'archive end';
  if (!end.lsn) return { name, status: 'fail', detail: `the server did not say where replay stopped, so reaching ${archiveEnd.segment} is not proven`, expected: archiveEnd.segment, found: null };
  const f = parseWalFileName(archiveEnd.segment);
  const want = f && segmentNumber(f, segmentSize);
  const got = segmentOfLsn(parseLsn(end.lsn), segmentSize);
  if (want === undefined || want === null) return { name, status: 'fail', detail: `${archiveEnd.segment} is not a segment name`, expected: archiveEnd.segment, found: end.lsn };
  if (got >= want) return { name, status: 'pass', detail: `replay reached ${end.lsn}, in or past ${archiveEnd.segment}, the archive's last segment when the drill started` };
  return { name, status: 'fail', detail: `replay stopped at ${end.lsn}, before ${archiveEnd.segment}, the archive's last segment: the rest of the archive was not replayed`, expected: archiveEnd.segment, found: end.lsn };
}

// The moment the recovered data is from: the last replayed transaction, else the base backup's end (nothing
// committed after it was replayed, so the data is at least that recent).
export function recoveredThrough(end: ReplayStop | null, backupStop: string): { time: string; basis: string } {
  if (end?.lastTransactionTime) return { time: end.lastTransactionTime, basis: 'the last replayed transaction' };
  return { time: backupStop, basis: "the base backup's end (no later transaction was replayed)" };
}

// The RPO and RTO checks, when limits are set: RPO is the drill's start minus the moment the data is from, RTO the
// download, lay-down and replay.
export function limitChecks(r: { rpoMs: number | null; rtoMs: number | null; rpoBasis?: string }, maxRpo?: number, maxRto?: number): DrillCheck[] {
  const out: DrillCheck[] = [];
  if (maxRpo !== undefined) {
    const basis = r.rpoBasis ?? 'the last replayed transaction';
    if (r.rpoMs === null) out.push({ name: 'rpo', status: 'skip', detail: 'the recovery did not run' });
    else out.push(r.rpoMs <= maxRpo
      ? { name: 'rpo', status: 'pass', detail: `${basis} is ${formatDuration(r.rpoMs)} old at drill start (limit ${formatDuration(maxRpo)})` }
      : { name: 'rpo', status: 'fail', detail: `${basis} is ${formatDuration(r.rpoMs)} old at drill start, over the limit of ${formatDuration(maxRpo)}: WAL is not archived often enough (archive_timeout), or archiving stopped`, expected: maxRpo, found: r.rpoMs });
  }
  if (maxRto !== undefined) {
    if (r.rtoMs === null) out.push({ name: 'rto', status: 'skip', detail: 'the recovery did not run' });
    else out.push(r.rtoMs <= maxRto
      ? { name: 'rto', status: 'pass', detail: `download, lay-down and replay took ${formatDuration(r.rtoMs)} (limit ${formatDuration(maxRto)})` }
      : { name: 'rto', status: 'fail', detail: `download, lay-down and replay took ${formatDuration(r.rtoMs)}, over the limit of ${formatDuration(maxRto)}: take base backups more often (less WAL to replay), or recover on faster storage`, expected: maxRto, found: r.rtoMs });
  }
  return out;
}

// The drill's result from its checks: any failure fails it.
export function resultOf(checks: readonly DrillCheck[]): 'pass' | 'fail' {
  return checks.some((c) => c.status === 'fail') ? 'fail' : 'pass';
}
