import type pg from 'pg';
import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { PgBinary } from '../../pg/binaries.ts';
import { BACKUP_MANIFEST_FILE, baseTarName } from '../../repo/basebackup-manifest.ts';
import { fileEntry, type ManifestFile } from '../../repo/manifest.ts';
import type { Repo } from '../../repo/repo.ts';
import { compressionText, type CompressionSpec } from '../../tar/compression.ts';
import { archiveStalled, waitForStopSegment, watchArchiveWait } from './archive-wait.ts';
import { backupHistoryFileName, backupWal, missingFromTar, parseBackupLabel, parseBackupManifestFacts, type BackupLabel, type BackupWal } from './label.ts';
import { streamBaseBackup } from './stream.ts';

// Taking the base backup itself: pg_basebackup streamed into the repository under the archive deadline, its label
// and manifest read, pg_basebackup's own backup_manifest stored beside the tar, the wait for the stop segment, and
// the restore point. Everything but pgops's manifest, which the caller commits.

export interface TakeRequest {
  client: pg.Client;
  repo: Repo;
  /** the base backup's folder, ending in / */
  prefix: string;
  id: string;
  systemId: string;
  pgBasebackup: PgBinary;
  connString: string;
  /** pg_basebackup's environment: the password file, and PGAPPNAME = applicationName */
  env: NodeJS.ProcessEnv;
  /** the WAL sender's application_name, by which a stuck one is found and ended */
  applicationName: string;
  compression: CompressionSpec;
  inRecovery: boolean;
  walSegmentSize: number;
  archiveTimeoutMs: number;
  signal: AbortSignal;
  log: Logger;
  onProgress: (tarBytes: number) => void;
  sizeHint?: number;
  /** when pg_basebackup was started */
  started: Date;
  now: () => Date;
}

export interface Taken {
  label: BackupLabel;
  /** when pg_basebackup ended */
  stopTime: Date;
  labelText: string;
  startTime: Date;
  wal: BackupWal;
  restorePoint?: { name: string; lsn: string };
  tarSize: number;
  memberCount: number;
  files: ManifestFile[];
}

// Takes the base backup into prefix; on failure whatever it stored stays for the caller's cleanup.
export async function takeBaseBackup(req: TakeRequest): Promise<Taken> {
  const { client, log } = req;
  // aborted with the archive timeout's error when the server's wait for the stop segment outlasts --archive-timeout
  const stalled = new AbortController();
  const signal = AbortSignal.any([req.signal, stalled.signal]);
  let label: BackupLabel | undefined;
  let deadline: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  // the deadline starts at the first sign that the server stops the backup: pg_control seen in the stream, or the
  // server's progress report
  const onServerStop = () => {
    if (deadline !== undefined) return;
    deadline = performance.now() + req.archiveTimeoutMs;
    log.debug('archive-wait', `the data files are sent; the server stops the backup${req.inRecovery ? '' : ' and waits for its stop segment to be archived'}`);
    timer = setTimeout(() => {
      const l = label;
      const history = l ? backupHistoryFileName(l, req.walSegmentSize) : 'unknown';
      void archiveStalled(client, { historyFile: history, startSegment: l?.startSegment ?? 'the start', timeoutMs: req.archiveTimeoutMs }).then((err) => {
        // pg_basebackup may have ended while the archiver was read: then the stop segment is archived after all
        if (!ended) stalled.abort(err);
      });
    }, req.archiveTimeoutMs);
  };
  const tarKey = req.prefix + baseTarName(compressionText(req.compression));
  const watch = watchArchiveWait(client, req.applicationName, onServerStop);
  let streamed;
  try {
    streamed = await streamBaseBackup({
      pgBasebackup: req.pgBasebackup,
      connString: req.connString,
      env: req.env,
      label: `pgops ${req.id}`,
      repo: req.repo,
      key: tarKey,
      compression: req.compression,
      signal,
      onProgress: req.onProgress,
      onLabel: (text) => {
        try {
          label = parseBackupLabel(text);
        } catch {
          // read again, and refused, once the stream is whole
        }
      },
      onServerStop,
      sizeHint: req.sizeHint,
    });
  } finally {
    ended = true;
    watch.stop();
    clearTimeout(timer);
  }
  const stopTime = req.now();
  const { tar } = streamed;
  label = parseBackupLabel(tar.backupLabel);
  const manifestText = tar.backupManifest.toString('utf8');
  const facts = parseBackupManifestFacts(manifestText);
  const torn = missingFromTar(facts, tar.members);
  if (torn) throw new PgopsError(`pg_basebackup's tar stream does not hold what its backup_manifest lists: ${torn}`, { code: ExitCode.INTEGRITY, hint: 'nothing was committed: run pgops basebackup again; if it recurs, compare with pg_basebackup -Ft -D <folder> by hand' });
  const wal = backupWal(label, facts, req.walSegmentSize);
  // pg_basebackup's own manifest, as its own file: recover hands it to pg_verifybackup without opening the tar
  const manifestPut = await req.repo.putBytes(req.prefix + BACKUP_MANIFEST_FILE, tar.backupManifest, { ifAbsent: true, signal });
  await waitForStopSegment({
    repo: req.repo,
    systemId: req.systemId,
    segment: wal.stop.segment,
    deadline: deadline ?? performance.now() + req.archiveTimeoutMs,
    signal,
    log,
    fromStandby: label.backupFrom === 'standby',
    client,
    timeoutMs: req.archiveTimeoutMs,
  });
  const restorePoint = label.backupFrom === 'standby' ? skipRestorePoint(log) : await createRestorePoint(client, req.id, log);
  return {
    label,
    stopTime,
    labelText: tar.backupLabel,
    startTime: await startInstant(client, label, req.started, log),
    wal,
    restorePoint,
    tarSize: tar.tarSize,
    memberCount: tar.memberCount,
    files: [
      fileEntry(tarKey.slice(req.prefix.length), streamed.put),
      fileEntry(BACKUP_MANIFEST_FILE, manifestPut),
    ],
  };
}

function skipRestorePoint(log: Logger): undefined {
  log.info('restore-point', 'no restore point: a standby cannot write WAL (pg_create_restore_point runs on the primary only); recover to this backup with --target immediate or --target-lsn');
  return undefined;
}

// pg_create_restore_point() named after the backup id: a target recover can name (--target-name ID). A role without
// the privilege (superuser, or EXECUTE granted) gets a warning, not a failed backup: the backup is whole without it.
async function createRestorePoint(client: pg.Client, id: string, log: Logger): Promise<{ name: string; lsn: string } | undefined> {
  try {
    const { rows } = await client.query<{ lsn: string }>('SELECT pg_create_restore_point($1)::text AS lsn', [id]);
    return { name: id, lsn: rows[0].lsn };
  } catch (err) {
    log.warn('restore-point', `could not create the restore point ${id}: ${messageOf(err)}`, { hint: 'GRANT EXECUTE ON FUNCTION pg_create_restore_point(text) TO the backup role; recover can still use --target-time, --target-lsn or --target immediate' });
    return undefined;
  }
}

// START TIME as an instant: the server parses the text it wrote in its own log_timezone, abbreviations included.
// Should it not (an abbreviation its timezone_abbreviations lacks), the moment pg_basebackup started stands in.
async function startInstant(client: pg.Client, label: BackupLabel, fallback: Date, log: Logger): Promise<Date> {
  log.debug('label', `backup from ${label.backupFrom}, start ${label.startLsn} (${label.startSegment}) at ${label.startTime}`);
  try {
    const { rows } = await client.query<{ t: Date }>('SELECT $1::timestamptz AS t', [label.startTime]);
    return rows[0].t;
  } catch (err) {
    log.warn('label', `the server cannot read back backup_label's START TIME "${label.startTime}" (${messageOf(err)}): the manifest records when pg_basebackup started instead`, { hint: 'set log_timezone to UTC' });
    return fallback;
  }
}
