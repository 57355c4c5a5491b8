import path from 'node:path';
import { formatDuration } from '../../units.ts';
import { runningAsRoot } from './os-user.ts';
import type { RecoveryPlan } from './plan.ts';
import type { RecoveryEnd } from './server.ts';
import { describeTarget } from './target.ts';

// The words recover prints: its plan before anything is laid down, the command that starts the server, and where
// replay stopped.

// The plan, one line each: the backup, the target, the archive's end, the WAL replay reads, the data directory.
export function planLines(plan: RecoveryPlan, pgdata: string): string[] {
  const m = plan.backup.manifest;
  const e = plan.archiveEnd;
  return [
    `base backup ${plan.backup.id}${m.label ? ` (label ${m.label})` : ''} of system ${plan.systemIdentifier}, PostgreSQL ${m.server.version}${m.server.inRecovery ? ', taken from a standby' : ''}: consistent at ${m.stop.lsn} (${m.stop.time}), timeline ${m.timeline}`,
    `recovery target: ${describeTarget(plan.target)}`,
    `the archive ends with ${e.segment} (up to ${e.lsn}), archived at ${e.archivedAt.toISOString()}${plan.gap ? `; it lacks ${plan.gap}` : ''}`,
    `WAL replay reads from the archive: ${plan.wal.first}..${plan.wal.last} (${plan.wal.segments} segments${plan.wal.timelines.length > 1 ? `, timelines ${plan.wal.timelines.join(', ')}` : ''}), until the target`,
    `data directory: ${pgdata}`,
  ];
}

// The exact command that starts the laid-down server: pg_ctl of the backup's major version, as the server's user
// when we are root.
export function startCommand(o: { binDir: string; pgdata: string; osUser: string; port?: number }): string {
  const pgCtl = path.join(o.binDir, 'pg_ctl');
  const words = [pgCtl, '-D', o.pgdata, '-l', path.join(o.pgdata, 'recovery.log'), ...(o.port ? ['-o', `'-p ${o.port}'`] : []), 'start'];
  return (runningAsRoot() ? ['runuser', '-u', o.osUser, '--', ...words] : words).join(' ');
}

// Where replay stopped, for the summary.
export function recoveredSummary(plan: RecoveryPlan, pgdata: string, end: RecoveryEnd, port: number): string {
  const at = [end.lsn && `at ${end.lsn}`, end.timeline !== null && `on timeline ${end.timeline}`, end.lastTransactionTime && `last replayed transaction ${end.lastTransactionTime}`].filter(Boolean).join(', ');
  const head = `base backup ${plan.backup.id} recovered into ${pgdata} to ${describeTarget(plan.target)}`;
  const replay = `${end.restored} WAL files restored, replay ${formatDuration(end.replayMs)}`;
  if (!end.reached) return `${head} FAILED (${end.state}${at ? `, ${at}` : ''}; ${replay}): ${end.reason}; the server is stopped, the data directory stays (log: ${end.logFile})`;
  const state = end.state === 'promoted' ? `promoted, running on port ${port}` : end.state === 'paused' ? `paused at the target, running read-only on port ${port} (SELECT pg_wal_replay_resume() promotes it)` : 'shut down at the target';
  return `${head}: ${state}${at ? `, ${at}` : ''}${end.stopping ? ` (${end.stopping})` : ''}; ${replay}`;
}
