import type { Measurement } from './measure.ts';
import { partsFromLog, type PhaseDef } from './pitr-report.ts';

// Where the time of bench:pitr's operations goes: pgops's runs cut at their log entries (--log-format json
// --verbose) and from the durations their results report; pgBackRest's restore and replay timed apart.

// pgops basebackup's log: [start] after the preflight, [archive-wait] once pg_control went by (the data files are
// sent, the server stops the backup), [label] once the stop segment is in the repository, [done] after the manifest.
export const BACKUP_PHASES: PhaseDef[] = [
  { id: 'startup', label: 'start-up, repository, connection, lock, preflight (to [start])', from: 'spawn', to: 'start' },
  { id: 'stream', label: 'pg_basebackup writes the tar into the repository, read as it grows: parse, sha256 (to [archive-wait])', from: 'start', to: 'archive-wait' },
  { id: 'stop', label: 'server stops the backup, stop segment archived, restore point (to [label])', from: 'archive-wait', to: 'label' },
  { id: 'commit', label: 'manifest committed (to [done])', from: 'label', to: 'done' },
  { id: 'exit', label: 'exit', from: 'done', to: 'exit' },
];

// A replay's parts from the recovered server's own log timestamps (pitr-server.ts replayTimeline).
const TIMELINE = (tool: string): PhaseDef[] => [
  { id: 'serverStart', label: `  server log: start to the first WAL file restored` },
  { id: 'restoring', label: `  server log: restores (${tool}) and redo, to "redo done"` },
  { id: 'endOfRecovery', label: '  server log: "redo done" to "ready to accept connections" (end-of-recovery checkpoint)' },
  { id: 'afterReady', label: `  after "ready": ${tool === 'wal fetch' ? "recover's poll of the log, result, exit" : "the benchmark's 20 ms poll of the log"}` },
  { id: 'fetches', label: `  of the replay: the WAL files restored x one ${tool} (the fetch table), estimated` },
];

// pgops recover's log: [plan] once the base backup is chosen and the archive listed, [checked] once backup_manifest
// matched its sha256 (the tar is checked as it is laid down), [laid-down] once the tar is extracted, checked and
// fsynced, [started] once pg_ctl started the server.
export const RECOVER_PHASES: PhaseDef[] = [
  { id: 'startup', label: 'start-up, repository, plan: base backup, archive listed (to [plan])', from: 'spawn', to: 'plan' },
  { id: 'check', label: 'sha256 of backup_manifest (to [checked])', from: 'plan', to: 'checked' },
  { id: 'lay-down', label: 'tar extracted on two writer threads, every file\'s sha256 checked, chowned, fsynced (to [laid-down])', from: 'checked', to: 'laid-down' },
  { id: 'verify', label: 'pg_verifybackup, settings, pg_ctl start (to [started])', from: 'laid-down', to: 'started' },
  { id: 'replay', label: 'replay until promoted, seen by its poll of the log; exit (to the end)', from: 'started', to: 'exit' },
  ...TIMELINE('wal fetch'),
  { id: 'syncMs', label: '  of the lay-down: fsync (its result\'s syncMs)' },
  { id: 'verifyMs', label: '  pg_verifybackup alone (its result\'s verifyMs)' },
];

export const PGBACKREST_RESTORE_PHASES: PhaseDef[] = [
  { id: 'restore', label: 'pgbackrest restore (copies and checks every file, writes restore_command)' },
  { id: 'replay', label: 'pg_ctl start until promoted (replay through archive-get)' },
  ...TIMELINE('archive-get'),
];

// The durations drill --pitr's report lists, and what is left of its wall time.
export const DRILL_PHASES: PhaseDef[] = [
  { id: 'downloadMs', label: 'sha256 of backup_manifest (durations.downloadMs)' },
  { id: 'layDownMs', label: 'lay-down: extract, chown, fsync (layDownMs)' },
  { id: 'verifyMs', label: 'pg_verifybackup (verifyMs)' },
  { id: 'replayMs', label: 'start and replay until promoted (replayMs)' },
  { id: 'checksMs', label: 'checks: integrity read of every table, ... (checksMs)' },
  { id: 'rest', label: 'the rest: start-up, plan, scratch folder, clean-up, report' },
];

// Numbers named *Ms in an object (one level), in seconds under the same names.
function msFields(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!v || typeof v !== 'object') return out;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x === 'number' && /Ms$/.test(k)) out[k] = x / 1000;
  return out;
}

// pgops recover's parts: cut from its log, with what its result says of fsync and pg_verifybackup.
export function recoverParts(m: Measurement, result: { data?: { laidDown?: unknown } } & { laidDown?: unknown }): Record<string, number> {
  const laid = msFields(result.data?.laidDown ?? result.laidDown);
  const parts = partsFromLog(m.stderr, m.startedAtMs, m.seconds, RECOVER_PHASES);
  for (const id of ['syncMs', 'verifyMs']) if (laid[id] !== undefined) parts[id] = laid[id];
  return parts;
}

// pgops drill --pitr's parts: the durations its report lists, and the rest of its wall time.
export function drillParts(m: Measurement, report: { durations?: unknown; data?: { durations?: unknown } }): Record<string, number> {
  const parts = msFields(report.durations ?? report.data?.durations);
  parts.rest = m.seconds - Object.values(parts).reduce((a, b) => a + b, 0);
  return parts;
}
