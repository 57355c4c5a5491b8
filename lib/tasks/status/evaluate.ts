import { worstFirst, worstLevel, type Level } from '../../check/level.ts';
import { statusLine, type PerfDatum } from '../../check/output.ts';
import { runbookPages, type RunbookPage } from '../../check/runbook-pages.ts';
import { formatDuration } from '../../units.ts';

export interface Thresholds {
  backupWarnMs: number;
  backupCritMs: number;
  drillWarnMs: number;
  drillCritMs: number;
  /** base backups and point-in-time drills, graded per database system when the repository holds base backups */
  basebackupWarnMs: number;
  basebackupCritMs: number;
  pitrDrillWarnMs: number;
  pitrDrillCritMs: number;
}

// What status knows of one database: its newest complete backup, its damaged sets and its drills.
export interface DatabaseFacts {
  database: string;
  newestBackup?: { id: string; time: Date };
  /** sets whose manifest parses but whose listed files are missing or have another size, newest first */
  damagedBackups: { id: string; problem: string }[];
  newestPassingDrill?: { drillId: string; backupId: string; time: Date };
  newestDrill?: { drillId: string; backupId: string; time: Date; result: string };
  completeBackups: number;
}

// What status finds, by kind: each names its runbook page (lib/check/runbook-pages.ts).
export const STATUS_FINDINGS = [
  'backup-missing', // no complete backup
  'backup-age', // the newest complete backup is older than the thresholds
  'backup-damaged', // a set whose files are missing or of another size
  'drill-missing', // no passing restore drill
  'drill-age',
  'drill-failed', // the newest drill failed or could not run
  // the same of a database system: its base backups and point-in-time drills
  'basebackup-missing',
  'basebackup-age',
  'basebackup-damaged',
  'pitr-drill-missing',
  'pitr-drill-age',
  'pitr-drill-failed',
] as const;
export type StatusFindingKind = (typeof STATUS_FINDINGS)[number];

// A finding that is not OK: its level and kind (its words are in `messages`).
export interface StatusFinding {
  level: Level;
  kind: StatusFindingKind;
}

export interface DatabaseStatus {
  database: string;
  level: Level;
  messages: string[];
  findings: StatusFinding[];
  backupAgeSeconds: number | null;
  drillAgeSeconds: number | null;
}

const age = (now: Date, t: Date) => Math.max(0, now.getTime() - t.getTime());
const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms / 1000));

// Collects one database's or one system's messages, the findings that are not OK, and their worst level.
function grader() {
  const g = { level: 0 as Level, messages: [] as string[], findings: [] as StatusFinding[] };
  const raise = (level: Level, kind: StatusFindingKind, message: string) => {
    g.level = worstLevel([g.level, level]);
    g.messages.push(message);
    g.findings.push({ level, kind });
  };
  // an age against its thresholds: WARNING over warn, CRITICAL over crit, else only said
  const grade = (kind: StatusFindingKind, text: string, ms: number, warn: number, crit: number) => {
    if (ms > crit) raise(2, kind, `${text} (critical over ${formatDuration(crit)})`);
    else if (ms > warn) raise(1, kind, `${text} (warning over ${formatDuration(warn)})`);
    else g.messages.push(text);
  };
  return { g, raise, grade };
}

// What a newest drill that did not pass says.
const outcome = (result: string) => (result === 'fail' ? 'failed' : 'could not run');

// Grades one database: backup age and drill age against their thresholds; a damaged set or a failed newest drill warns.
export function evaluate(f: DatabaseFacts, t: Thresholds, now: Date): DatabaseStatus {
  const { g, raise, grade } = grader();
  let backupAge: number | null = null;
  if (!f.newestBackup) raise(2, 'backup-missing', 'no complete backup');
  else {
    backupAge = age(now, f.newestBackup.time);
    grade('backup-age', `newest backup ${f.newestBackup.id} is ${formatDuration(backupAge)} old`, backupAge, t.backupWarnMs, t.backupCritMs);
  }
  // A damaged set means something removed or changed files in the repository after a backup finished.
  for (const d of f.damagedBackups) raise(1, 'backup-damaged', `backup ${d.id} is damaged: ${d.problem}`);
  let drillAge: number | null = null;
  if (!f.newestPassingDrill) raise(2, 'drill-missing', 'no passing restore drill');
  else {
    drillAge = age(now, f.newestPassingDrill.time);
    grade('drill-age', `newest passing drill ${f.newestPassingDrill.drillId} (backup ${f.newestPassingDrill.backupId}) is ${formatDuration(drillAge)} old`, drillAge, t.drillWarnMs, t.drillCritMs);
  }
  if (f.newestDrill && f.newestDrill.result !== 'pass') {
    raise(1, 'drill-failed', `the newest drill ${f.newestDrill.drillId} (backup ${f.newestDrill.backupId}) ${outcome(f.newestDrill.result)}`);
  }
  return { database: f.database, ...g, backupAgeSeconds: seconds(backupAge), drillAgeSeconds: seconds(drillAge) };
}

// What status knows of one database system's physical path: its newest complete base backup, its damaged ones, and
// its point-in-time drills.
export interface SystemFacts {
  systemIdentifier: string;
  newestBaseBackup?: { id: string; time: Date };
  damagedBaseBackups: { id: string; problem: string }[];
  newestPassingPitrDrill?: { drillId: string; backupId: string; time: Date };
  newestPitrDrill?: { drillId: string; backupId: string; time: Date; result: string };
}

export interface SystemStatus {
  systemIdentifier: string;
  level: Level;
  messages: string[];
  findings: StatusFinding[];
  basebackupAgeSeconds: number | null;
  pitrDrillAgeSeconds: number | null;
}

// Grades one database system: base backup age and point-in-time drill age against their thresholds, as a database's
// backups and drills are graded; a damaged base backup or a failed newest drill warns.
export function evaluateSystem(f: SystemFacts, t: Thresholds, now: Date): SystemStatus {
  const { g, raise, grade } = grader();
  let backupAge: number | null = null;
  if (!f.newestBaseBackup) raise(2, 'basebackup-missing', 'no complete base backup');
  else {
    backupAge = age(now, f.newestBaseBackup.time);
    grade('basebackup-age', `newest base backup ${f.newestBaseBackup.id} is ${formatDuration(backupAge)} old`, backupAge, t.basebackupWarnMs, t.basebackupCritMs);
  }
  for (const d of f.damagedBaseBackups) raise(1, 'basebackup-damaged', `base backup ${d.id} is damaged: ${d.problem}`);
  let drillAge: number | null = null;
  if (!f.newestPassingPitrDrill) raise(2, 'pitr-drill-missing', 'no passing point-in-time drill');
  else {
    drillAge = age(now, f.newestPassingPitrDrill.time);
    grade('pitr-drill-age', `newest passing point-in-time drill ${f.newestPassingPitrDrill.drillId} (base backup ${f.newestPassingPitrDrill.backupId}) is ${formatDuration(drillAge)} old`, drillAge, t.pitrDrillWarnMs, t.pitrDrillCritMs);
  }
  if (f.newestPitrDrill && f.newestPitrDrill.result !== 'pass') {
    raise(1, 'pitr-drill-failed', `the newest point-in-time drill ${f.newestPitrDrill.drillId} (base backup ${f.newestPitrDrill.backupId}) ${outcome(f.newestPitrDrill.result)}`);
  }
  return { systemIdentifier: f.systemIdentifier, ...g, basebackupAgeSeconds: seconds(backupAge), pitrDrillAgeSeconds: seconds(drillAge) };
}

// The overall level, the status line with perfdata, worst first, databases then database systems:
// PGOPS STATUS WARNING - app: ... / system 7714...: ... | 'app backup_age'=97200s;93600;187200;0 ... '7714... basebackup_age'=...
// and the runbook pages of the worst findings.
export function statusOfAll(statuses: readonly DatabaseStatus[], t: Thresholds, systems: readonly SystemStatus[] = []): { level: Level; line: string; runbook: RunbookPage[] } {
  const parts = [
    ...statuses.map((s) => ({ level: s.level, text: `${s.database}: ${s.messages.join('; ')}` })),
    ...systems.map((s) => ({ level: s.level, text: `system ${s.systemIdentifier}: ${s.messages.join('; ')}` })),
  ];
  const level = worstLevel(parts.map((p) => p.level));
  const text = worstFirst(parts).map((p) => p.text).join(' / ');
  const sec = (ms: number) => Math.round(ms / 1000);
  const perfOf = (label: string, value: number | null, warn: number, crit: number): PerfDatum[] => (value === null ? [] : [{ label, value, uom: 's', warn: sec(warn), crit: sec(crit), min: 0 }]);
  const perf = [
    ...statuses.flatMap((s) => [...perfOf(`${s.database} backup_age`, s.backupAgeSeconds, t.backupWarnMs, t.backupCritMs), ...perfOf(`${s.database} drill_age`, s.drillAgeSeconds, t.drillWarnMs, t.drillCritMs)]),
    ...systems.flatMap((s) => [
      ...perfOf(`${s.systemIdentifier} basebackup_age`, s.basebackupAgeSeconds, t.basebackupWarnMs, t.basebackupCritMs),
      ...perfOf(`${s.systemIdentifier} pitr_drill_age`, s.pitrDrillAgeSeconds, t.pitrDrillWarnMs, t.pitrDrillCritMs),
    ]),
  ];
  const runbook = runbookPages('status', [...statuses, ...systems].flatMap((s) => s.findings));
  return { level, line: statusLine('STATUS', level, text || 'nothing to check', perf), runbook };
}
