import type { DrillCheck } from './drill-reports.ts';
import { pitrDrillKey, pitrDrillsFolder } from './layout.ts';
import type { Repo } from './repo.ts';

export const PITR_DRILL_REPORT_FORMAT = 'pgops-pitr-drill-report';

// Where replay stopped, as the drill's throwaway server said (lib/tasks/recover/server.ts's RecoveryEnd, less the
// log file, which the drill removes).
export interface ReplayStop {
  reached: boolean;
  state: 'promoted' | 'paused' | 'shut down' | 'failed';
  lsn: string | null;
  timeline: number | null;
  /** ISO 8601, of the last replayed transaction */
  lastTransactionTime: string | null;
  reason?: string;
}

// The evidence a point-in-time drill leaves in the repository (drills/@<system identifier>/<drill id>.json).
export interface PitrDrillReport {
  format: typeof PITR_DRILL_REPORT_FORMAT;
  reportVersion: 1;
  drillId: string;
  systemIdentifier: string;
  backupId: string;
  /** pass: every check passed; fail: a check failed; error: the drill could not run to the end */
  result: 'pass' | 'fail' | 'error';
  startedAt: string;
  finishedAt: string;
  /** the recovery target as describeTarget writes it: latest, time ..., lsn ... */
  target: string;
  /** the newest archived segment when the drill planned: replay to latest must reach it */
  archiveEnd: { segment: string; timeline: number; lsn: string; archivedAt: string } | null;
  /** where replay stopped; null when the server never ran */
  replay: ReplayStop | null;
  /** each phase's wall-clock time; null for a phase that did not run */
  durations: { downloadMs: number | null; layDownMs: number | null; verifyMs: number | null; replayMs: number | null; checksMs: number | null };
  /** download + lay-down + replay: how long a real recovery of this backup would take on this host */
  rtoMs: number | null;
  /** drill start minus the time of the last replayed transaction (or of the base backup's end, when none was) */
  rpoMs: number | null;
  limits: { maxRtoMs: number | null; maxRpoMs: number | null };
  /** what the integrity read covered */
  integrity: { databases: number; tables: number; rows: number } | null;
  /** the scratch data directory and port of the throwaway server; kept only with --keep */
  scratch: { dir: string; port: number | null; kept: boolean };
  checks: DrillCheck[];
  error?: string;
  tool: { name: 'pgops'; version: string };
}

// A drill id is its start time as a backup id: sorting the ids sorts the drills in time.
const newestFirst = (a: PitrDrillReport, b: PitrDrillReport) => (a.drillId < b.drillId ? 1 : a.drillId > b.drillId ? -1 : 0);

// Stores a report, never over another (a second drill of the same system in the same second fails to record).
export async function putPitrDrillReport(repo: Repo, r: PitrDrillReport): Promise<void> {
  await repo.putBytes(pitrDrillKey(r.systemIdentifier, r.drillId), JSON.stringify(r, null, 2) + '\n', { ifAbsent: true });
}

// Every readable point-in-time drill report (of one system, or all), newest first; unreadable files are skipped.
export async function listPitrDrillReports(repo: Repo, systemIdentifier?: string): Promise<PitrDrillReport[]> {
  // drills/@<system>/: "@" never begins a logical drill's database folder (layout.ts)
  const objects = (await repo.list(systemIdentifier === undefined ? 'drills/' : pitrDrillsFolder(systemIdentifier))).filter((o) => /^drills\/@\d+\/[^/]+\.json$/.test(o.key));
  const reports: PitrDrillReport[] = [];
  for (const o of objects) {
    try {
      const r = JSON.parse((await repo.getBytes(o.key)).toString('utf8')) as PitrDrillReport;
      if (r.format !== PITR_DRILL_REPORT_FORMAT || (systemIdentifier !== undefined && r.systemIdentifier !== systemIdentifier)) continue;
      // a report stored under another system's folder proves nothing about either
      if (o.key !== pitrDrillKey(r.systemIdentifier, r.drillId)) continue;
      reports.push(r);
    } catch {
      // a report that does not parse proves nothing
    }
  }
  return reports.sort(newestFirst);
}

// The base backup ids of one system whose newest point-in-time drill passed, newest drill first: a later failing
// drill withdraws an earlier pass; a drill that could not run to the end (error) says nothing and is passed over.
export function pitrVerifiedBackupIds(reports: readonly PitrDrillReport[], systemIdentifier: string): string[] {
  const decided = new Set<string>();
  const verified: string[] = [];
  for (const r of [...reports].sort(newestFirst)) {
    if (r.systemIdentifier !== systemIdentifier || r.result === 'error' || decided.has(r.backupId)) continue;
    decided.add(r.backupId);
    if (r.result === 'pass') verified.push(r.backupId);
  }
  return verified;
}
