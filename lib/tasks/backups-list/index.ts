import { ExitCode } from '../../errors.ts';
import { databaseNameOf } from '../../pg/database-name.ts';
import { listDrillReports, verifiedBackupIds } from '../../repo/drill-reports.ts';
import { openRepo } from '../../repo/open.ts';
import { listSets } from '../../repo/sets.ts';
import type { TaskHandler } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';

// pgops backups list: every set, newest first, with its status (complete, incomplete, unreadable, damaged), size,
// duration and newest drill.
export const backupsList: TaskHandler<'backups-list'> = async (ctx) => {
  const repo = await openRepo(ctx.options.repo, ctx.options, ctx.log);
  try {
    const database = databaseNameOf(ctx.options.db);
    const sets = (await listSets(repo, database)).filter((s) => database === undefined || s.database === database);
    const drills = await listDrillReports(repo, database);
    // newest first, so the first report found is the set's newest drill
    const lastDrill = (db: string, id: string) => drills.find((d) => d.database === db && d.backupId === id);
    const verified = new Map([...new Set(sets.map((s) => s.database))].map((db) => [db, new Set(verifiedBackupIds(drills, db))]));
    const rows = sets.map((s) => {
      const drill = lastDrill(s.database, s.id);
      return {
        database: s.database,
        backupId: s.id,
        status: s.status,
        size: s.size,
        durationMs: s.manifest?.durationMs ?? null,
        snapshotTime: s.manifest?.snapshot.time ?? null,
        format: s.manifest?.pgDump.format ?? null,
        problem: s.problem ?? null,
        drill: drill ? { drillId: drill.drillId, result: drill.result } : null,
        // what --backup verified may pick: complete, and its newest drill that ran to the end passed
        verified: s.complete && verified.get(s.database)!.has(s.id),
      };
    });
    const drillText = (r: (typeof rows)[number]) => {
      if (!r.drill) return '-';
      // "verified" only where --backup verified may pick the set: a pass on a damaged set no longer counts, and
      // after an error (the drill did not run to the end) an earlier pass still stands
      if (r.drill.result === 'pass') return r.verified ? 'verified' : 'pass';
      return r.verified ? `${r.drill.result} (verified)` : r.drill.result;
    };
    const table = [
      ['DATABASE', 'BACKUP ID', 'STATUS', 'SIZE', 'DURATION', 'DRILL', 'SNAPSHOT'],
      ...rows.map((r) => [r.database, r.backupId, r.status, formatSize(r.size), r.durationMs === null ? '-' : formatDuration(r.durationMs), drillText(r), r.status === 'complete' ? (r.snapshotTime ?? '') : (r.problem ?? '')]),
    ];
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    const text = table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
    const count = (status: string) => rows.filter((r) => r.status === status).length;
    const damaged = count('damaged') ? ` ${count('damaged')} damaged,` : '';
    const summary = rows.length ? `${text}\n${rows.length} set(s), ${count('complete')} complete,${damaged} in ${repo.url}` : `no backup sets${database ? ` of database "${database}"` : ''} in ${repo.url}`;
    return { exitCode: ExitCode.OK, summary, data: { repo: repo.url, sets: rows } };
  } finally {
    await repo.close();
  }
};
