import { worstFirst, worstLevel, type Level } from '../../check/level.ts';
import { statusLine, type PerfDatum } from '../../check/output.ts';
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

export interface DatabaseStatus {
  database: string;
  level: Level;
  messages: string[];
  backupAgeSeconds: number | null;
  drillAgeSeconds: number | null;
}

const age = (now: Date, t: Date) => Math.max(0, now.getTime() - t.getTime());

// Grades one database: backup age and drill age against their thresholds; a damaged set or a failed newest drill warns.
export function evaluate(f: DatabaseFacts, t: Thresholds, now: Date): DatabaseStatus {
  const messages: string[] = [];
  let level: Level = 0;
  const raise = (l: Level, m: string) => {
    level = worstLevel([level, l]);
    messages.push(m);
  };
  let backupAge: number | null = null;
  if (!f.newestBackup) {
    raise(2, 'no complete backup');
  } else {
    backupAge = age(now, f.newestBackup.time);
    const text = `newest backup ${f.newestBackup.id} is ${formatDuration(backupAge)} old`;
    if (backupAge > t.backupCritMs) raise(2, `${text} (critical over ${formatDuration(t.backupCritMs)})`);
    else if (backupAge > t.backupWarnMs) raise(1, `${text} (warning over ${formatDuration(t.backupWarnMs)})`);
    else messages.push(text);
  }
  // A damaged set means something removed or changed files in the repository after a backup finished.
  for (const d of f.damagedBackups) raise(1, `backup ${d.id} is damaged: ${d.problem}`);
  let drillAge: number | null = null;
  if (!f.newestPassingDrill) {
    raise(2, 'no passing restore drill');
  } else {
    drillAge = age(now, f.newestPassingDrill.time);
    const text = `newest passing drill ${f.newestPassingDrill.drillId} (backup ${f.newestPassingDrill.backupId}) is ${formatDuration(drillAge)} old`;
    if (drillAge > t.drillCritMs) raise(2, `${text} (critical over ${formatDuration(t.drillCritMs)})`);
    else if (drillAge > t.drillWarnMs) raise(1, `${text} (warning over ${formatDuration(t.drillWarnMs)})`);
    else messages.push(text);
  }
  if (f.newestDrill && f.newestDrill.result !== 'pass') {
    raise(1, `the newest drill ${f.newestDrill.drillId} (backup ${f.newestDrill.backupId}) ${f.newestDrill.result === 'fail' ? 'failed' : 'could not run'}`);
  }
  return { database: f.database, level, messages, backupAgeSeconds: backupAge === null ? null : Math.round(backupAge / 1000), drillAgeSeconds: drillAge === null ? null : Math.round(drillAge / 1000) };
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
  basebackupAgeSeconds: number | null;
  pitrDrillAgeSeconds: number | null;
}

// Grades one database system: base backup age and point-in-time drill age against their thresholds, as a database's
// backups and drills are graded; a damaged base backup or a failed newest drill warns.
export function evaluateSystem(f: SystemFacts, t: Thresholds, now: Date): SystemStatus {
  const messages: string[] = [];
  let level: Level = 0;
  const raise = (l: Level, m: string) => {
    level = worstLevel([level, l]);
    messages.push(m);
  };
  const grade = (text: string, ms: number, warn: number, crit: number) => {
    if (ms > crit) raise(2, `${text} (critical over ${formatDuration(crit)})`);
    else if (ms > warn) raise(1, `${text} (warning over ${formatDuration(warn)})`);
    else messages.push(text);
  };
  let backupAge: number | null = null;
  if (!f.newestBaseBackup) raise(2, 'no complete base backup');
  else {
    backupAge = age(now, f.newestBaseBackup.time);
    grade(`newest base backup ${f.newestBaseBackup.id} is ${formatDuration(backupAge)} old`, backupAge, t.basebackupWarnMs, t.basebackupCritMs);
  }
  for (const d of f.damagedBaseBackups) raise(1, `base backup ${d.id} is damaged: ${d.problem}`);
  let drillAge: number | null = null;
  if (!f.newestPassingPitrDrill) raise(2, 'no passing point-in-time drill');
  else {
    drillAge = age(now, f.newestPassingPitrDrill.time);
    grade(`newest passing point-in-time drill ${f.newestPassingPitrDrill.drillId} (base backup ${f.newestPassingPitrDrill.backupId}) is ${formatDuration(drillAge)} old`, drillAge, t.pitrDrillWarnMs, t.pitrDrillCritMs);
  }
  if (f.newestPitrDrill && f.newestPitrDrill.result !== 'pass') {
    raise(1, `the newest point-in-time drill ${f.newestPitrDrill.drillId} (base backup ${f.newestPitrDrill.backupId}) ${f.newestPitrDrill.result === 'fail' ? 'failed' : 'could not run'}`);
  }
  return { systemIdentifier: f.systemIdentifier, level, messages, basebackupAgeSeconds: backupAge === null ? null : Math.round(backupAge / 1000), pitrDrillAgeSeconds: drillAge === null ? null : Math.round(drillAge / 1000) };
}

// The overall level and the status line with perfdata, worst first, databases then database systems:
// PGOPS STATUS WARNING - app: ... / system 7714...: ... | 'app backup_age'=97200s;93600;187200;0 ... '7714... basebackup_age'=...
export function statusOfAll(statuses: readonly DatabaseStatus[], t: Thresholds, systems: readonly SystemStatus[] = []): { level: Level; line: string } {
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
  return { level, line: statusLine('STATUS', level, text || 'nothing to check', perf) };
}
