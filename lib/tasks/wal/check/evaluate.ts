import { worstFirst, worstLevel, type Level } from '../../../check/level.ts';
import { statusLine, type PerfDatum } from '../../../check/output.ts';
import { runbookPages, type RunbookPage } from '../../../check/runbook-pages.ts';
import { formatDuration, formatSize } from '../../../units.ts';
import { describeRange } from '../../../wal/continuity.ts';
import { parseWalFileName, segmentNumber } from '../../../wal/names.ts';
import type { RepositoryFacts } from './repository.ts';
import type { ServerWalFacts } from './server.ts';
import type { SwitchResult } from './switch.ts';

export interface WalThresholds {
  ageWarnMs: number;
  ageCritMs: number;
  readyWarn: number;
  readyCrit: number;
  pgWalWarn: number;
  pgWalCrit: number;
}

export type RepositorySide = { facts: RepositoryFacts } | { error: string } | { skipped: string };

// What wal check finds, by kind: each names its runbook page (lib/check/runbook-pages.ts).
export const WAL_FINDINGS = [
  'wal-level', // wal_level is minimal
  'archive-mode', // archive_mode is off
  'archive-command', // archive_mode is on, archive_command empty
  'standby', // a standby the primary archives for
  'failing', // pg_stat_archiver's failures: failing now, or past and followed by success
  'archive-age', // the last archived file, while others wait
  'ready', // WAL files waiting to be archived
  'pg-wal-size',
  'switch', // --switch: did the switched segment reach the repository
  'history', // the current timeline's history file is not in the archive
  'empty', // the archive holds no WAL of this system (or timeline) yet
  'gap', // segments missing from the archive
  'continuous', // the archive has every segment of the window
  'segment-size', // archived segments of another size
  'repository', // the repository could not be read
  'skipped', // what the role may not read, or --switch could not do
] as const;
export type WalFindingKind = (typeof WAL_FINDINGS)[number];

export interface Finding {
  level: Level;
  kind: WalFindingKind;
  text: string;
}

export interface WalCheckOutcome {
  level: Level;
  findings: Finding[];
  skipped: string[];
  /** WAL files waiting to be archived: counted (.ready) or estimated from the current segment; null when unknown */
  pending: number | null;
  archiveAgeSeconds: number | null;
  perf: PerfDatum[];
  line: string;
  /** the runbook pages of the worst findings */
  runbook: RunbookPage[];
}

const MAX_RANGES_IN_LINE = 10;

// The number of WAL segments between the one archived last and the one being written, when both are on one timeline.
export function estimatePending(s: ServerWalFacts): number | null {
  if (s.ready) return s.ready.length;
  const cur = s.currentWalFile ? parseWalFileName(s.currentWalFile) : undefined;
  const last = s.archiver.lastArchivedWal ? parseWalFileName(s.archiver.lastArchivedWal) : undefined;
  if (!cur || !last || last.kind !== 'segment' || cur.timeline !== last.timeline || !s.walSegmentSize) return null;
  const a = segmentNumber(cur, s.walSegmentSize);
  const b = segmentNumber(last, s.walSegmentSize);
  return a === undefined || b === undefined ? null : Math.max(0, a - 1 - b);
}

// How each side records what it found.
type Add = (level: Level, kind: WalFindingKind, text: string) => void;

const ago = (now: Date, t: Date) => formatDuration(Math.max(0, now.getTime() - t.getTime()));

// Grades the server side: settings, pg_stat_archiver, backlog, pg_wal size.
function gradeServer(s: ServerWalFacts, t: WalThresholds, add: Add): { pending: number | null; ageSeconds: number | null } {
  if (s.walLevel === 'minimal') add(2, 'wal-level', 'wal_level is minimal: WAL cannot be archived (set wal_level = replica and restart)');
  if (s.archiveMode === 'off') add(2, 'archive-mode', 'archive_mode is off: nothing is archived (set archive_mode = on and restart)');
  if (s.inRecovery && s.archiveMode !== 'always') {
    add(0, 'standby', `standby with archive_mode = ${s.archiveMode}: the primary archives; check the primary`);
    return { pending: null, ageSeconds: null };
  }
  if (s.archiveMode !== 'off') {
    const command = s.archiveCommand;
    const library = s.archiveLibrary;
    if (command === '' && !library) add(2, 'archive-command', 'archive_mode is on but archive_command is empty (and no archive_library): WAL piles up in pg_wal');
  }
  const a = s.archiver;
  const pending = estimatePending(s);
  if (a.lastFailedTime && (!a.lastArchivedTime || a.lastFailedTime > a.lastArchivedTime)) {
    add(2, 'failing', `archiving is failing: ${a.failedCount} failed attempts since ${a.statsReset ? a.statsReset.toISOString() : 'the statistics reset'}, the last for ${a.lastFailedWal} ${ago(s.now, a.lastFailedTime)} ago; ${a.lastArchivedTime ? `last success ${a.lastArchivedWal} ${ago(s.now, a.lastArchivedTime)} ago` : 'no success since the statistics reset'}`);
  } else if (a.failedCount > 0 && a.lastFailedTime) {
    add(0, 'failing', `${a.failedCount} failed attempts since the statistics reset, the last ${ago(s.now, a.lastFailedTime)} ago and followed by success`);
  }
  const reference = a.lastArchivedTime ?? a.statsReset;
  const ageMs = reference ? Math.max(0, s.now.getTime() - reference.getTime()) : null;
  if (ageMs !== null) {
    const what = a.lastArchivedTime ? `last archived ${a.lastArchivedWal} ${formatDuration(ageMs)} ago` : `nothing archived since the statistics reset ${formatDuration(ageMs)} ago`;
    if (pending !== null && pending > 0 && ageMs > t.ageCritMs) add(2, 'archive-age', `${what} while ${pending} WAL files wait (critical over ${formatDuration(t.ageCritMs)})`);
    else if (pending !== null && pending > 0 && ageMs > t.ageWarnMs) add(1, 'archive-age', `${what} while ${pending} WAL files wait (warning over ${formatDuration(t.ageWarnMs)})`);
    else add(0, 'archive-age', what);
  }
  if (s.ready) {
    const text = `${s.ready.length} WAL files wait to be archived${s.ready.length ? ` (oldest ${s.ready[0]})` : ''}`;
    if (s.ready.length > t.readyCrit) add(2, 'ready', `${text} (critical over ${t.readyCrit})`);
    else if (s.ready.length > t.readyWarn) add(1, 'ready', `${text} (warning over ${t.readyWarn})`);
    else if (s.ready.length > 0) add(0, 'ready', text);
  }
  if (s.pgWalBytes !== null) {
    const text = `pg_wal holds ${formatSize(s.pgWalBytes)}`;
    if (s.pgWalBytes > t.pgWalCrit) add(2, 'pg-wal-size', `${text} (critical over ${formatSize(t.pgWalCrit)})`);
    else if (s.pgWalBytes > t.pgWalWarn) add(1, 'pg-wal-size', `${text} (warning over ${formatSize(t.pgWalWarn)})`);
  }
  return { pending, ageSeconds: ageMs === null ? null : Math.round(ageMs / 1000) };
}

// Grades the repository side: history, continuity, segment sizes; UNKNOWN when it could not be read.
function gradeRepository(r: RepositorySide, segmentSize: number, add: Add): number | null {
  if ('skipped' in r) return null;
  if ('error' in r) {
    // the repository could not be read (unreachable, not a repository): the check cannot say what the archive holds,
    // UNKNOWN; a server that fails to archive into it is CRITICAL on the server side all the same
    add(3, 'repository', `repository: ${r.error}`);
    return null;
  }
  const f = r.facts;
  if (f.historyProblem) add(2, 'history', f.historyProblem);
  if (f.nothing) {
    add(1, 'empty', `${f.folder}: ${f.nothing}`);
    return null;
  }
  const c = f.continuity!;
  if (c.missingCount) {
    const shown = c.missing.slice(0, MAX_RANGES_IN_LINE).map(describeRange).join(', ');
    const more = c.missing.length > MAX_RANGES_IN_LINE ? ` and ${c.missing.length - MAX_RANGES_IN_LINE} more ranges` : '';
    add(2, 'gap', `${c.missingCount} of ${c.expected} segments from ${c.first} to ${c.last} are missing in ${f.folder}: ${shown}${more}`);
  } else {
    add(0, 'continuous', `archive continuous from ${c.first} to ${c.last} (${c.expected} segments, from ${f.basis})`);
  }
  if (c.wrongSize.length) {
    add(2, 'segment-size', `${c.wrongSize.length} archived segments are not ${formatSize(segmentSize)}: ${c.wrongSize.slice(0, MAX_RANGES_IN_LINE).map((w) => `${w.name} (${w.size} bytes)`).join(', ')}`);
  }
  return c.missingCount;
}

// Grades the --switch round trip: did the switched segment reach the repository in time.
function gradeSwitch(sw: SwitchResult | undefined, timeoutMs: number, add: Add): number | null {
  if (!sw) return null;
  if ('skipped' in sw) {
    add(1, 'skipped', `--switch skipped: ${sw.skipped}`);
    return null;
  }
  if (sw.done) add(0, 'switch', `pg_switch_wal(): ${sw.segment} reached the repository in ${sw.seconds.toFixed(1)}s`);
  else add(2, 'switch', `pg_switch_wal(): ${sw.segment} was not in the repository ${formatDuration(timeoutMs)} later`);
  return sw.seconds;
}

// Grades everything the check found and builds the Nagios status line with perfdata.
export function evaluateWal(s: ServerWalFacts, repo: RepositorySide | undefined, sw: SwitchResult | undefined, t: WalThresholds, switchTimeoutMs: number): WalCheckOutcome {
  const findings: Finding[] = [];
  const add: Add = (level, kind, text) => findings.push({ level, kind, text });
  const { pending, ageSeconds } = gradeServer(s, t, add);
  const switchSeconds = gradeSwitch(sw, switchTimeoutMs, add);
  const missing = repo ? gradeRepository(repo, s.walSegmentSize, add) : null;
  const skipped = [...s.skipped, ...(repo && 'skipped' in repo ? [`repository side: ${repo.skipped}`] : [])];
  // a check that could not look at something cannot vouch for it
  if (skipped.length) add(1, 'skipped', `skipped ${skipped.join('; ')}`);
  const level = worstLevel(findings.map((f) => f.level));
  const sec = (ms: number) => Math.round(ms / 1000);
  const perf: PerfDatum[] = [
    { label: 'archive_failed', value: s.archiver.failedCount, uom: 'c' },
    ...(ageSeconds === null ? [] : [{ label: 'archive_age', value: ageSeconds, uom: 's' as const, warn: sec(t.ageWarnMs), crit: sec(t.ageCritMs), min: 0 }]),
    ...(s.ready ? [{ label: 'ready', value: s.ready.length, warn: t.readyWarn, crit: t.readyCrit, min: 0 }] : []),
    ...(s.pgWalBytes === null ? [] : [{ label: 'pg_wal', value: s.pgWalBytes, uom: 'B' as const, warn: t.pgWalWarn, crit: t.pgWalCrit, min: 0 }]),
    ...(missing === null ? [] : [{ label: 'missing_segments', value: missing, crit: 0, min: 0 }]),
    ...(switchSeconds === null ? [] : [{ label: 'switch_time', value: Math.round(switchSeconds * 10) / 10, uom: 's' as const, crit: sec(switchTimeoutMs), min: 0 }]),
  ];
  const ordered = worstFirst(findings);
  const text = ordered.map((f) => f.text).join('; ');
  return { level, findings, skipped, pending, archiveAgeSeconds: ageSeconds, perf, line: statusLine('WAL', level, text || 'nothing to report', perf), runbook: runbookPages('wal-check', ordered) };
}
