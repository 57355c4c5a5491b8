import { createHash } from 'node:crypto';
import type { DrillReport } from '../../lib/repo/drill-reports.ts';
import { backupIdTime, setPrefix, drillKey, MANIFEST_FILE } from '../../lib/repo/layout.ts';
import type { Repo } from '../../lib/repo/repo.ts';

// Synthetic sets and drill reports written straight into a repository: tests of the repository logic need no server.

const sha = (data: string) => createHash('sha256').update(data).digest('hex');

// The files of a custom-format set: a dump and globals.sql.
export const customFiles = (database: string, id: string): Record<string, string> => ({ dump: `dump of ${database} ${id}\n`.repeat(50), 'globals.sql': '-- roles\n' });

// A set with the given files and a valid manifest listing them (written last); complete: false leaves the manifest out.
export async function writeSet(repo: Repo, database: string, id: string, opts: { complete?: boolean; files?: Record<string, string>; format?: 'custom' | 'directory' } = {}) {
  const prefix = setPrefix(database, id);
  const files = opts.files ?? customFiles(database, id);
  for (const [name, data] of Object.entries(files)) await repo.putBytes(prefix + name, data);
  if (opts.complete === false) return;
  const list = Object.entries(files).map(([p, data]) => ({ path: p, size: Buffer.byteLength(data), sha256: sha(data) }));
  const time = backupIdTime(id)!.toISOString();
  const manifest = {
    format: 'pgops-backup-manifest',
    manifestVersion: 1,
    backupId: id,
    database,
    tool: { name: 'pgops', version: 'test' },
    server: { version: '16.4', versionNum: 160004, systemIdentifier: '7300000000000000000', inRecovery: false },
    pgDump: { version: '16.4', format: opts.format ?? 'custom', jobs: 1 },
    startedAt: time,
    finishedAt: time,
    durationMs: 1000,
    snapshot: { id: '00000003-00000002-1', lsn: '0/1000000', time },
    files: list,
    totalSize: list.reduce((s, f) => s + f.size, 0),
    fingerprints: { mode: 'count', tables: [] },
  };
  await repo.putBytes(prefix + MANIFEST_FILE, JSON.stringify(manifest));
}

// A drill report at drills/<database>/<drillId>.json, as pgops drill leaves it; the drill id is its start time.
export async function writeDrill(repo: Repo, database: string, drillId: string, backupId: string, result: DrillReport['result']) {
  const time = backupIdTime(drillId)!.toISOString();
  const report: DrillReport = {
    format: 'pgops-drill-report',
    reportVersion: 1,
    drillId,
    database,
    backupId,
    result,
    startedAt: time,
    finishedAt: time,
    target: 'postgresql://postgres@drill-host/postgres',
    scratchDatabase: `pgops_drill_${backupId}`,
    kept: false,
    rtoMs: result === 'error' ? null : 60_000,
    rpoMs: 3_600_000,
    checks: result === 'fail' ? [{ name: 'checksums', status: 'fail', detail: 'dump does not match its sha256' }] : [],
    ...(result === 'error' ? { error: 'connection refused' } : {}),
    tool: { name: 'pgops', version: 'test' },
  };
  await repo.putBytes(drillKey(database, drillId), JSON.stringify(report));
}
