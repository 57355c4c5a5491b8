// What a recovering server's log says (lc_messages=C: the messages of PostgreSQL's xlogrecovery.c, xlog.c and
// postmaster.c, whatever the log_line_prefix): how far replay got, where and why it stopped, and whether the server
// promoted, paused, shut down or failed. Fed as the log grows; pure, so that tests can feed it lines.

// What the log has said so far.
export interface LogFacts {
  /** WAL files restore_command delivered */
  restored: number;
  lastRestored?: string;
  /** "recovery stopping ...": the target was reached */
  stopping?: string;
  /** the commit time the stopping line names (ISO 8601), and whether that transaction was replayed */
  stoppingTime?: string;
  stoppingAfter?: boolean;
  /** the LSN a stopping line names (an LSN target) */
  stoppingLsn?: string;
  consistentAt?: string;
  redoDoneAt?: string;
  lastTransactionTime?: string;
  newTimeline?: number;
  archiveRecoveryComplete: boolean;
  /** ready to accept (read-write) connections */
  ready: boolean;
  paused: boolean;
  shutdownAtTarget: boolean;
  shutDown: boolean;
  /** FATAL and PANIC lines, and restore_command's failures */
  failures: string[];
}

const MAX_FAILURES = 20;
// FATAL lines of client connections (a monitor, pg_isready, a drill connecting early), not of the recovery
const CLIENT_FATAL = /FATAL:\s+(the database system is (starting up|not yet accepting connections|shutting down|in recovery mode)|role .* does not exist|database .* does not exist|password authentication failed|Peer authentication failed|no pg_hba\.conf entry|terminating connection due to administrator command)/;

// A server timestamp ("2026-11-30 03:12:00.123456+00", as timestamptz_to_str writes it) in ISO 8601.
export function isoOfServerTime(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2})(?::?(\d{2}))?$/.exec(text.trim());
  if (!m) return text.trim();
  return `${m[1]}T${m[2]}${m[3]}:${m[4] ?? '00'}`;
}

// Reads a recovering server's log line by line as it grows.
export class ServerLogReader {
  readonly facts: LogFacts = { restored: 0, archiveRecoveryComplete: false, ready: false, paused: false, shutdownAtTarget: false, shutDown: false, failures: [] };
  private partial = '';

  // Reads the next piece of the log (whole lines only; a partial last line waits for the rest).
  feed(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  // Reads what is left after the server exited.
  flush(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  private line(line: string): void {
    const f = this.facts;
    let m: RegExpExecArray | null;
    if ((m = /restored log file "([0-9A-F]{24}|[0-9A-F]{8}\.history)" from archive/.exec(line))) {
      f.restored += 1;
      f.lastRestored = m[1];
    } else if ((m = /(recovery stopping (before|after|at) .*)$/.exec(line))) {
      f.stopping = m[1].trim();
      f.stoppingAfter = m[2] !== 'before';
      const time = /, time (\d{4}-\d{2}-\d{2} [\d:.]+[+-]\d{2}(?::?\d{2})?)/.exec(f.stopping);
      if (time) f.stoppingTime = isoOfServerTime(time[1]);
      const lsn = /WAL location \(LSN\) "([0-9A-F]+\/[0-9A-F]+)"/.exec(f.stopping);
      if (lsn) f.stoppingLsn = lsn[1];
    } else if ((m = /consistent recovery state reached at ([0-9A-F]+\/[0-9A-F]+)/.exec(line))) {
      f.consistentAt = m[1];
    } else if ((m = /redo done at ([0-9A-F]+\/[0-9A-F]+)/.exec(line))) {
      f.redoDoneAt = m[1];
    } else if ((m = /last completed transaction was at log time (.+?)\s*$/.exec(line))) {
      f.lastTransactionTime = isoOfServerTime(m[1]);
    } else if ((m = /selected new timeline ID: (\d+)/.exec(line))) {
      f.newTimeline = Number(m[1]);
    } else if (line.includes('archive recovery complete')) {
      f.archiveRecoveryComplete = true;
    } else if (line.includes('database system is ready to accept connections')) {
      f.ready = true;
    } else if (line.includes('pausing at the end of recovery') || line.includes('recovery has paused')) {
      // at a target PostgreSQL 15 says the first, a pause asked for with pg_wal_replay_pause() the second
      f.paused = true;
    } else if (line.includes('shutdown at recovery target')) {
      f.shutdownAtTarget = true;
    } else if (line.includes('database system is shut down')) {
      f.shutDown = true;
    }
    // restore_command's own stderr goes into the server log too: wal fetch's line that says why it stopped recovery
    if (CLIENT_FATAL.test(line)) return;
    if (/\b(FATAL|PANIC):/.test(line) || /"level":"error"|"kind":"stop-recovery"|wal fetch failed|exited with exit code 12[6-9]|exit code 1[3-9]\d/.test(line)) {
      if (f.failures.length < MAX_FAILURES) f.failures.push(line.trim().slice(0, 2000));
    }
  }
}
