import { worstFirst, worstLevel, type Level } from '../../check/level.ts';
import { statusLine, type PerfDatum } from '../../check/output.ts';
import { formatDuration } from '../../units.ts';

export interface Thresholds {
  backupWarnMs: number;
  backupCritMs: number;
  drillWarnMs: number;
  drillCritMs: number;
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

// The overall level and the status line with perfdata, worst database first:
// PGOPS STATUS WARNING - app: ... | 'app backup_age'=97200s;93600;187200;0 ...
export function statusOfAll(statuses: readonly DatabaseStatus[], t: Thresholds): { level: Level; line: string } {
  const level = worstLevel(statuses.map((s) => s.level));
  const text = worstFirst(statuses).map((s) => `${s.database}: ${s.messages.join('; ')}`).join(' / ');
  const sec = (ms: number) => Math.round(ms / 1000);
  const perf = statuses.flatMap((s): PerfDatum[] => [
    ...(s.backupAgeSeconds === null ? [] : [{ label: `${s.database} backup_age`, value: s.backupAgeSeconds, uom: 's' as const, warn: sec(t.backupWarnMs), crit: sec(t.backupCritMs), min: 0 }]),
    ...(s.drillAgeSeconds === null ? [] : [{ label: `${s.database} drill_age`, value: s.drillAgeSeconds, uom: 's' as const, warn: sec(t.drillWarnMs), crit: sec(t.drillCritMs), min: 0 }]),
  ]);
  return { level, line: statusLine('STATUS', level, text || 'nothing to check', perf) };
}
