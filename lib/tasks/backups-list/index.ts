import { databaseNameOf, listSets } from '../../backup-set.ts';
import { listDrillReports } from '../../drill-report.ts';
import { ExitCode } from '../../errors.ts';
import { openRepo } from '../../repo/open.ts';
import type { TaskHandler } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';

// pgops backups list: every set, newest first, complete or not, with size and duration.
export const backupsList: TaskHandler = async (ctx) => {
  const repo = await openRepo(ctx.options.repo as string | undefined, ctx.options, ctx.log);
  try {
    const database = databaseNameOf(ctx.options.db);
    const sets = (await listSets(repo, database)).filter((s) => database === undefined || s.database === database);
    const drills = await listDrillReports(repo, database);
    const lastDrill = (db: string, id: string) => drills.find((d) => d.database === db && d.backupId === id);
    const rows = sets.map((s) => ({
      database: s.database,
      backupId: s.id,
      status: s.complete ? 'complete' : 'incomplete',
      size: s.size,
      durationMs: s.manifest?.durationMs ?? null,
      snapshotTime: s.manifest?.snapshot.time ?? null,
      format: s.manifest?.pgDump.format ?? null,
      problem: s.problem ?? null,
      drill: lastDrill(s.database, s.id) ? { drillId: lastDrill(s.database, s.id)!.drillId, result: lastDrill(s.database, s.id)!.result } : null,
    }));
    const table = [
      ['DATABASE', 'BACKUP ID', 'STATUS', 'SIZE', 'DURATION', 'DRILL', 'SNAPSHOT'],
      ...rows.map((r) => [r.database, r.backupId, r.status, formatSize(r.size), r.durationMs === null ? '-' : formatDuration(r.durationMs), r.drill ? (r.drill.result === 'pass' ? 'verified' : r.drill.result) : '-', r.snapshotTime ?? r.problem ?? '']),
    ];
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    const text = table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
    const complete = rows.filter((r) => r.status === 'complete').length;
    const summary = rows.length ? `${text}\n${rows.length} set(s), ${complete} complete, in ${repo.url}` : `no backup sets${database ? ` of database "${database}"` : ''} in ${repo.url}`;
    return { exitCode: ExitCode.OK, summary, data: { repo: repo.url, sets: rows } };
  } finally {
    await repo.close();
  }
};
