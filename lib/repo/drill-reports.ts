import { drillsFolder } from './layout.ts';
import type { Repo } from './repo.ts';

// note: something a person should know that is no failure (a materialized view the restore refreshed)
export type CheckStatus = 'pass' | 'fail' | 'skip' | 'note';

// One check of a drill: what was compared, and what was expected and found when they differ.
export interface DrillCheck {
  name: string;
  status: CheckStatus;
  detail?: string;
  expected?: unknown;
  found?: unknown;
}

// The evidence a drill leaves in the repository (drills/<database>/<drill id>.json).
export interface DrillReport {
  format: 'pgops-drill-report';
  reportVersion: 1;
  drillId: string;
  database: string;
  backupId: string;
  /** pass: every check passed; fail: a check failed; error: the drill could not run to the end */
  result: 'pass' | 'fail' | 'error';
  startedAt: string;
  finishedAt: string;
  target: string;
  scratchDatabase: string;
  kept: boolean;
  rtoMs: number | null;
  rpoMs: number;
  checks: DrillCheck[];
  error?: string;
  tool: { name: 'pgops'; version: string };
}

// A drill id is its start time as a backup id: sorting the ids sorts the drills in time.
const newestFirst = (a: DrillReport, b: DrillReport) => (a.drillId < b.drillId ? 1 : a.drillId > b.drillId ? -1 : 0);

// Every readable drill report (of one database, or all), newest first; unreadable files are skipped.
export async function listDrillReports(repo: Repo, database?: string): Promise<DrillReport[]> {
  const objects = await repo.list(drillsFolder(database));
  const reports: DrillReport[] = [];
  for (const o of objects) {
    if (!o.key.endsWith('.json')) continue;
    try {
      const r = JSON.parse((await repo.getBytes(o.key)).toString('utf8')) as DrillReport;
      if (r.format === 'pgops-drill-report' && (database === undefined || r.database === database)) reports.push(r);
    } catch {
      // a report that does not parse proves nothing
    }
  }
  return reports.sort(newestFirst);
}

// The backup ids of one database whose newest drill passed, newest drill first. A later failing drill withdraws
// an earlier pass. A drill with result 'error' could not run to the end (server unreachable, interrupted) and says
// nothing about the set, so it is passed over: the newest drill that passed or failed decides.
export function verifiedBackupIds(reports: readonly DrillReport[], database: string): string[] {
  const decided = new Set<string>();
  const verified: string[] = [];
  for (const r of [...reports].sort(newestFirst)) {
    if (r.database !== database || r.result === 'error' || decided.has(r.backupId)) continue;
    decided.add(r.backupId);
    if (r.result === 'pass') verified.push(r.backupId);
  }
  return verified;
}
