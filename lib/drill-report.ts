import { dbFolder } from './backup-set.ts';
import type { Repo } from './repo/repo.ts';

export type CheckStatus = 'pass' | 'fail' | 'skip';

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

export function drillKey(database: string, drillId: string): string {
  return `drills/${dbFolder(database)}/${drillId}.json`;
}

// Every readable drill report (of one database, or all), newest first; unreadable files are skipped.
export async function listDrillReports(repo: Repo, database?: string): Promise<DrillReport[]> {
  const objects = await repo.list(database === undefined ? 'drills/' : `drills/${dbFolder(database)}/`);
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
  return reports.sort((a, b) => (a.drillId < b.drillId ? 1 : a.drillId > b.drillId ? -1 : 0));
}

// The backup ids that a passing drill verified, newest drill first.
export function verifiedBackupIds(reports: DrillReport[]): string[] {
  return reports.filter((r) => r.result === 'pass').map((r) => r.backupId);
}
