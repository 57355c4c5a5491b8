// The metrics pgops exports, one row each (the README lists them from METRIC_NAMES): every run's, then the figures a
// dashboard needs of each job, read from what the run's result already carries (RunOutcome.data), never queried again.
//
// Every metric is a gauge labelled task and target. Points in time are unix timestamps, not ages: the textfile stays
// as the last run wrote it until the next run, so an age written into it would stand still; a dashboard computes
// time() - <timestamp>. node_exporter merges all .prom files and refuses a metric whose HELP differs between them,
// so a metric's HELP is one text whatever the task.
import { succeeded, type RunOutcome } from './outcome.ts';

export interface MetricDef {
  name: string;
  help: string;
  /** the jobs (lib/notify/job.ts) that export it; '*' every one */
  jobs: readonly string[] | '*';
  /**
   * describes the last successful run (a backup's size): a failed run exports the value the last success left in the
   * state folder, so that a failure does not blank the dashboard
   */
  sticky?: boolean;
  /** this run's value; undefined when the run has none */
  value(o: RunOutcome, lastSuccessAt: Date | null): number | undefined;
}

type Data = Record<string, unknown>;
const dataOf = (o: RunOutcome): Data | undefined => (o.data && typeof o.data === 'object' ? (o.data as Data) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const seconds = (ms: unknown): number | undefined => (num(ms) === undefined ? undefined : (ms as number) / 1000);
// a Date (the result in memory) or an ISO string (a report as stored), as unix time
const unixTime = (v: unknown): number | undefined => {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(ms) ? ms / 1000 : undefined;
};
const path = (d: Data | undefined, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Data)[k] : undefined), d);

const BACKUPS = ['backup', 'basebackup'] as const;
const DRILLS = ['drill', 'drill-pitr'] as const;
// a committed backup's result says ok: true; an unsuccessful run carries none of its figures
const backupData = (o: RunOutcome) => (path(dataOf(o), 'ok') === true ? dataOf(o) : undefined);
const verifyCount = (name: string) => (o: RunOutcome) => num(path(dataOf(o), 'counts', name));

// The one list.
export const METRICS: readonly MetricDef[] = [
  // every run
  { name: 'pgops_last_run_timestamp_seconds', jobs: '*', help: 'When the last run of the task finished (unix time).', value: (o) => o.finishedAt.getTime() / 1000 },
  { name: 'pgops_last_success_timestamp_seconds', jobs: '*', help: 'When a run of the task last succeeded, exit 0 or 1 (unix time; its age is time() - this).', value: (_, at) => (at ? at.getTime() / 1000 : undefined) },
  { name: 'pgops_last_duration_seconds', jobs: '*', help: 'How long the last run took.', value: (o) => (o.finishedAt.getTime() - o.startedAt.getTime()) / 1000 },
  { name: 'pgops_last_exit_code', jobs: '*', help: 'Exit code of the last run (0 ok, 1 warning, 2 failed, 3 unknown, 4 locked, 5 not found, 6 integrity).', value: (o) => o.exitCode },
  { name: 'pgops_last_success', jobs: '*', help: '1 when the last run succeeded (exit 0 or 1), else 0.', value: (o) => (succeeded(o) ? 1 : 0) },
  { name: 'pgops_last_bytes', jobs: '*', help: 'Bytes the last run wrote (backups) or read (verify).', value: (o) => num(path(dataOf(o), 'bytes')) },

  // backup and basebackup: the newest backup this job made
  { name: 'pgops_backup_size_bytes', jobs: BACKUPS, sticky: true, help: "Size in the repository of the last successful backup (backup: the set's files; basebackup: the stored tar stream).", value: (o) => num(path(backupData(o), 'bytes')) },
  { name: 'pgops_backup_duration_seconds', jobs: BACKUPS, sticky: true, help: 'How long the last successful backup took.', value: (o) => seconds(path(backupData(o), 'durationMs')) },
  { name: 'pgops_backup_timestamp_seconds', jobs: BACKUPS, sticky: true, help: "When the data of the last successful backup is from (unix time: backup: the dump's snapshot; basebackup: where it became consistent); its age is time() - this.", value: (o) => unixTime(path(backupData(o), 'snapshot', 'time') ?? path(backupData(o), 'stop', 'time')) },

  // drill and drill --pitr: what the last drill's report says
  { name: 'pgops_drill_passed', jobs: DRILLS, help: '1 when the last drill passed every check, 0 when a check failed or the drill could not run.', value: (o) => (path(dataOf(o), 'result') === 'pass' ? 1 : 0) },
  { name: 'pgops_drill_rto_seconds', jobs: DRILLS, help: 'Recovery time the last drill measured: download, verification and restore (drill --pitr: download, lay-down and replay).', value: (o) => seconds(path(dataOf(o), 'rtoMs')) },
  { name: 'pgops_drill_rpo_seconds', jobs: DRILLS, help: "Recovery point of the last drill: seconds from the backup's snapshot (drill --pitr: the last replayed transaction) to the drill's start.", value: (o) => seconds(path(dataOf(o), 'rpoMs')) },

  // wal check: the archiver as the server reports it, and the repository's archive
  { name: 'pgops_wal_last_archived_timestamp_seconds', jobs: ['wal-check'], help: 'When the server last archived a WAL file (pg_stat_archiver.last_archived_time, unix time); its age is time() - this, which grows on an idle server too.', value: (o) => unixTime(path(dataOf(o), 'server', 'archiver', 'lastArchivedTime')) },
  { name: 'pgops_wal_ready_segments', jobs: ['wal-check'], help: 'WAL files waiting to be archived: .ready files in pg_wal/archive_status, or estimated from the current segment without pg_monitor.', value: (o) => num(path(dataOf(o), 'pending')) },
  { name: 'pgops_wal_archive_failed_count', jobs: ['wal-check'], help: 'Failed archive_command attempts since the statistics reset (pg_stat_archiver.failed_count).', value: (o) => num(path(dataOf(o), 'server', 'archiver', 'failedCount')) },
  { name: 'pgops_wal_missing_segments', jobs: ['wal-check'], help: "WAL segments missing from the repository's archive in the range wal check --repo checked.", value: (o) => num(path(dataOf(o), 'repository', 'continuity', 'missingCount')) },

  // verify: what the last re-read of the repository found
  { name: 'pgops_verify_passed', jobs: ['verify'], help: '1 when the last verify found every listed file whole (OK or WARNING), 0 when it found damage (CRITICAL) or could not read the repository (UNKNOWN).', value: (o) => (succeeded(o) && path(dataOf(o), 'counts') !== undefined ? 1 : 0) },
  { name: 'pgops_verify_files', jobs: ['verify'], help: 'Files the last verify checked (listed by a manifest or a sidecar).', value: verifyCount('files') },
  { name: 'pgops_verify_damaged', jobs: ['verify'], help: 'Stored files the last verify found with another size or sha256 than listed.', value: verifyCount('damaged') },
  { name: 'pgops_verify_missing', jobs: ['verify'], help: 'Listed files the last verify found missing.', value: verifyCount('missing') },
  { name: 'pgops_verify_missing_segments', jobs: ['verify'], help: 'WAL segments missing from the archive in the range the last verify checked.', value: verifyCount('missingSegments') },
  { name: 'pgops_verify_sets', jobs: ['verify'], help: 'Backup sets the last verify looked at.', value: verifyCount('sets') },
];

// Every metric's name, in the list's order (the README's metrics section is checked against it).
export const METRIC_NAMES: readonly string[] = METRICS.map((m) => m.name);

// The metrics a job exports.
export function metricsOf(job: string): MetricDef[] {
  return METRICS.filter((m) => m.jobs === '*' || m.jobs.includes(job));
}
