import { ExitCode } from '../../errors.ts';
import { databaseNameOf } from '../../pg/database-name.ts';
import { formatTable } from '../../plan/table.ts';
import { listBaseBackups } from '../../repo/basebackups.ts';
import { listDrillReports, verifiedBackupIds } from '../../repo/drill-reports.ts';
import { openRepo } from '../../repo/open.ts';
import { pinState, pinText } from '../../repo/pin.ts';
import { listSets } from '../../repo/sets.ts';
import type { TaskHandler } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { baseBackupRows, baseBackupsText } from './basebackups.ts';

// pgops backups list: every set, newest first, with its status (complete, incomplete, unreadable, damaged), size,
// duration, label, pin and newest drill; then the base backups of every system (they belong to a cluster, so --db
// does not narrow them).
export const backupsList: TaskHandler<'backups-list'> = async (ctx) => {
  const repo = await openRepo(ctx.options.repo, ctx.options, ctx.log);
  try {
    const database = databaseNameOf(ctx.options.db);
    const now = ctx.now();
    const sets = (await listSets(repo, database)).filter((s) => database === undefined || s.database === database);
    const drills = await listDrillReports(repo, database);
    const basebackups = baseBackupRows(await listBaseBackups(repo), now);
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
        label: s.manifest?.label ?? null,
        pinnedUntil: s.manifest?.pinnedUntil ?? null,
        // the pin holds now: no retention rule prunes the set
        pinned: pinState(s.manifest?.pinnedUntil, now).state === 'holds',
      };
    });
    const drillText = (r: (typeof rows)[number]) => {
      if (!r.drill) return '-';
      // "verified" only where --backup verified may pick the set: a pass on a damaged set no longer counts, and
      // after an error (the drill did not run to the end) an earlier pass still stands
      if (r.drill.result === 'pass') return r.verified ? 'verified' : 'pass';
      return r.verified ? `${r.drill.result} (verified)` : r.drill.result;
    };
    const text = formatTable(
      ['DATABASE', 'BACKUP ID', 'STATUS', 'SIZE', 'DURATION', 'DRILL', 'LABEL', 'PINNED UNTIL', 'SNAPSHOT'],
      rows.map((r) => [r.database, r.backupId, r.status, formatSize(r.size), r.durationMs === null ? '-' : formatDuration(r.durationMs), drillText(r), r.label ?? '-', pinText(r.pinnedUntil, now), r.status === 'complete' ? (r.snapshotTime ?? '') : (r.problem ?? '')]),
    );
    const count = (status: string) => rows.filter((r) => r.status === status).length;
    const damaged = count('damaged') ? ` ${count('damaged')} damaged,` : '';
    const setsText = rows.length ? `${text}\n${rows.length} set(s), ${count('complete')} complete,${damaged} in ${repo.url}` : `no backup sets${database ? ` of database "${database}"` : ''} in ${repo.url}`;
    const summary = basebackups.length ? `${setsText}\n\n${baseBackupsText(basebackups, repo.url, now)}` : setsText;
    // basebackups only when there are any: a repository of logical sets alone prints what it always did
    return { exitCode: ExitCode.OK, summary, data: { repo: repo.url, sets: rows, ...(basebackups.length ? { basebackups } : {}) } };
  } finally {
    await repo.close();
  }
};
