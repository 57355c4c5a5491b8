import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { sidecarKey } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import { formatDuration } from '../../units.ts';

// The bounded waits for the backup's stop segment: first inside pg_basebackup (a primary's server waits for the
// segment to be archived before it ends the backup), then for its sidecar in the repository (a standby's server does
// not wait: the segment arrives once the primary switches it). Both share one deadline, --archive-timeout after the
// server began to stop the backup.

const FIX_HINT = 'fix archive_command (pgops wal check names the cause); nothing was committed: run pgops basebackup again once archiving works';

// What pg_stat_archiver says, in a clause: "the archiver last failed on X at T (N failures)", or its last success.
export async function archiverState(client: pg.Client): Promise<string> {
  try {
    const { rows } = await client.query(`SELECT last_archived_wal, last_archived_time, last_failed_wal, last_failed_time, failed_count FROM pg_stat_archiver`);
    const a = rows[0];
    const at = (t: unknown) => (t ? new Date(t as string).toISOString() : 'never');
    const failing = a.last_failed_time && (!a.last_archived_time || new Date(a.last_failed_time) > new Date(a.last_archived_time));
    if (failing) return `pg_stat_archiver: last_failed_wal ${a.last_failed_wal} at ${at(a.last_failed_time)}, failed_count ${a.failed_count}; last archived ${a.last_archived_wal ?? 'nothing'} at ${at(a.last_archived_time)}`;
    return `pg_stat_archiver reports no failure since the last success (last archived ${a.last_archived_wal ?? 'nothing'} at ${at(a.last_archived_time)}, failed_count ${a.failed_count})`;
  } catch (err) {
    return `pg_stat_archiver could not be read (${messageOf(err)})`;
  }
}

// The stop segment as the server's backup history file names it (pg_wal/<start>.<offset>.backup, written when the
// backup stops): undefined when this role may not read server files or the file is not there yet.
export async function stopSegmentFromHistory(client: pg.Client, historyFile: string): Promise<string | undefined> {
  try {
    // pg_read_file(name, missing_ok) is PostgreSQL 16's: offset and length make it 15's (and older) too
    const { rows } = await client.query<{ t: string | null }>('SELECT pg_read_file($1, 0, 4096, true) AS t', [`pg_wal/${historyFile}`]);
    return /^STOP WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)$/m.exec(rows[0].t ?? '')?.[1];
  } catch {
    return undefined;
  }
}

// The error of a base backup whose server waited longer than --archive-timeout for its stop segment: names the
// segment (from the backup history file when this role may read it) and what pg_stat_archiver says at this moment.
export async function archiveStalled(client: pg.Client, w: { historyFile: string; startSegment: string; timeoutMs: number }): Promise<PgopsError> {
  const stop = await stopSegmentFromHistory(client, w.historyFile);
  const segment = stop ? `stop segment ${stop}` : `stop segment (at or after ${w.startSegment}; the backup history file ${w.historyFile} names it)`;
  return new PgopsError(`the server waited ${formatDuration(w.timeoutMs)} (--archive-timeout) for the base backup's ${segment} to be archived, in vain; ${await archiverState(client)}`, {
    code: ExitCode.FAILED,
    hint: FIX_HINT,
  });
}

// Calls onStop once the server reports (pg_stat_progress_basebackup) that it waits for the backup's WAL to be
// archived, polling once a second until stopped. pg_basebackup's own output cannot tell: it buffers the tail of the
// stream (global/pg_control, which the server sends last) until the server answers again.
export function watchArchiveWait(client: pg.Client, applicationName: string, onStop: () => void): { stop(): void } {
  let inFlight = false;
  let done = false;
  const timer = setInterval(() => {
    if (inFlight || done) return;
    inFlight = true;
    client
      .query<{ phase: string }>(`SELECT p.phase FROM pg_stat_progress_basebackup p JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1`, [applicationName])
      .then(({ rows }) => {
        if (!done && rows.some((r) => r.phase === 'waiting for wal archiving to finish')) {
          done = true;
          onStop();
        }
      })
      .catch(() => {})
      .finally(() => (inFlight = false));
  }, 1000);
  timer.unref();
  return {
    stop() {
      done = true;
      clearInterval(timer);
    },
  };
}

// Waits until the stop segment's sidecar is in the repository (it is archived only once its sidecar exists), polling
// once a second until deadline (a performance.now() value); throws naming the segment when it does not arrive.
export async function waitForStopSegment(w: {
  repo: Repo;
  systemId: string;
  segment: string;
  deadline: number;
  signal: AbortSignal;
  log: Logger;
  /** taken from a standby: the segment comes from the primary's archiver */
  fromStandby: boolean;
  client: pg.Client;
  timeoutMs: number;
}): Promise<void> {
  const key = sidecarKey(w.systemId, w.segment);
  let told = false;
  for (;;) {
    w.signal.throwIfAborted();
    if (await w.repo.exists(key)) return;
    const left = w.deadline - performance.now();
    if (left <= 0) break;
    if (!told) {
      told = true;
      w.log.info('archive-wait', `waiting up to ${formatDuration(left)} for the stop segment ${w.segment} to reach the archive${w.fromStandby ? ' (a standby ends its backup in the segment the primary is writing: it arrives when the primary switches it)' : ''}`, { segment: w.segment });
    }
    await sleep(Math.min(1000, left), undefined, { signal: w.signal });
  }
  if (w.fromStandby) {
    throw new PgopsError(`the base backup's stop segment ${w.segment} did not reach ${w.repo.url} within ${formatDuration(w.timeoutMs)} (--archive-timeout)`, {
      code: ExitCode.FAILED,
      hint: "a backup from a standby needs the primary to archive the segment: set archive_timeout on the primary (e.g. 5min), or run SELECT pg_switch_wal() there during the backup; check the primary's archiving with pgops wal check",
    });
  }
  throw new PgopsError(`the server reports the base backup's stop segment ${w.segment} archived, but ${w.repo.url} has no ${key}; ${await archiverState(w.client)}`, {
    code: ExitCode.FAILED,
    hint: `archive_command archives somewhere else: it must be pgops wal push %p --repo ${w.repo.url} (pgops wal check compares both sides)`,
  });
}

// Ends the WAL sender that serves pg_basebackup (found by its application name): a server waiting in the backup's
// stop for archiving does not notice that pg_basebackup is gone, and would wait on. A role may end its own sessions.
export async function endWalSender(client: pg.Client, applicationName: string, log: Logger): Promise<void> {
  try {
    const { rows } = await client.query<{ pid: number; ok: boolean }>(
      `SELECT pid, pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE backend_type = 'walsender' AND application_name = $1`,
      [applicationName],
    );
    for (const r of rows) log.debug('cleanup', `ended the WAL sender of the failed base backup (pid ${r.pid})`);
  } catch (err) {
    log.warn('cleanup', `could not end the WAL sender of the failed base backup: ${messageOf(err)}`, { hint: `find it with SELECT pid FROM pg_stat_activity WHERE application_name = '${applicationName}' and end it with pg_terminate_backend(pid)` });
  }
}
