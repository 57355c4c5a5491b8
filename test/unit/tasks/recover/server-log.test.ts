import { describe, expect, it } from 'vitest';
import { settled } from '../../../../lib/tasks/recover/server.ts';
import { isoOfServerTime, ServerLogReader } from '../../../../lib/tasks/recover/server-log.ts';

// Lines as PostgreSQL 15 logs them with lc_messages=C and log_line_prefix '%m [%p] '.
const P = '2026-12-01 13:23:31.738 UTC [6670]';
const promoted = [
  `${P} LOG:  starting point-in-time recovery to 2026-12-01 13:23:29.5+00`,
  `${P} LOG:  restored log file "000000010000000000000003" from archive`,
  `${P} LOG:  redo starts at 0/3000028`,
  `${P} LOG:  consistent recovery state reached at 0/3000100`,
  `${P} FATAL:  the database system is not yet accepting connections`,
  `${P} LOG:  restored log file "000000010000000000000004" from archive`,
  `${P} LOG:  recovery stopping before commit of transaction 737, time 2026-12-01 13:23:29.612345+00`,
  `${P} LOG:  redo done at 0/4000548 system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.01 s`,
  `${P} LOG:  last completed transaction was at log time 2026-12-01 13:23:29.401122+00`,
  `${P} LOG:  selected new timeline ID: 2`,
  `${P} LOG:  archive recovery complete`,
  `${P} LOG:  database system is ready to accept connections`,
].join('\n');

describe("the recovering server's log", () => {
  it('says where a promoted recovery stopped, fed in pieces', () => {
    const r = new ServerLogReader();
    for (let i = 0; i < promoted.length; i += 37) r.feed(promoted.slice(i, i + 37));
    r.feed('\n');
    expect(r.facts).toMatchObject({
      restored: 2,
      lastRestored: '000000010000000000000004',
      stopping: 'recovery stopping before commit of transaction 737, time 2026-12-01 13:23:29.612345+00',
      stoppingAfter: false,
      stoppingTime: '2026-12-01T13:23:29.612345+00:00',
      consistentAt: '0/3000100',
      redoDoneAt: '0/4000548',
      lastTransactionTime: '2026-12-01T13:23:29.401122+00:00',
      newTimeline: 2,
      archiveRecoveryComplete: true,
      ready: true,
      // a client refused during start-up is no failure of the recovery
      failures: [],
    });
    expect(settled(r.facts, 'promote', { kind: 'lsn', lsn: '0/4000000' })).toBe('promoted');
  });

  it('tells a pause, a shutdown at the target, and a failure', () => {
    const pause = new ServerLogReader();
    pause.feed(`${P} LOG:  recovery stopping after WAL location (LSN) "0/4000500"\n${P} LOG:  pausing at the end of recovery\n`);
    expect(pause.facts).toMatchObject({ paused: true, stoppingLsn: '0/4000500', stoppingAfter: true });
    expect(settled(pause.facts, 'pause', { kind: 'lsn', lsn: '0/4000500' })).toBe('paused');

    const shutdown = new ServerLogReader();
    shutdown.feed(`${P} LOG:  recovery stopping after reaching consistency\n${P} LOG:  shutdown at recovery target\n`);
    expect(settled(shutdown.facts, 'shutdown', { kind: 'immediate' })).toBeUndefined();
    shutdown.feed(`${P} LOG:  database system is shut down\n`);
    expect(settled(shutdown.facts, 'shutdown', { kind: 'immediate' })).toBe('shut down');

    const failed = new ServerLogReader();
    failed.feed(
      [
        '{"time":"2026-12-01T13:23:31Z","level":"error","task":"wal-fetch","kind":"stop-recovery","message":"wal fetch failed (exit 2) during the archive recovery"}',
        `${P} FATAL:  could not restore file "000000010000000000000005" from archive: child process exited with exit code 128`,
        `${P} LOG:  startup process (PID 6671) exited with exit code 1`,
        `${P} LOG:  aborting startup due to startup process failure`,
      ].join('\n'),
    );
    failed.flush();
    expect(failed.facts.failures).toHaveLength(2);
    expect(failed.facts.failures[1]).toMatch(/could not restore file "000000010000000000000005" from archive: child process exited with exit code 128/);
    // a failure settles once the postmaster is gone (runRecovery watches it), never from a FATAL line alone
    expect(settled(failed.facts, 'promote', { kind: 'latest' })).toBeUndefined();
  });

  it('turns server timestamps into ISO 8601', () => {
    expect(isoOfServerTime('2026-12-01 13:23:29.401122+00')).toBe('2026-12-01T13:23:29.401122+00:00');
    expect(isoOfServerTime('2026-12-01 14:23:29+01')).toBe('2026-12-01T14:23:29+01:00');
    expect(isoOfServerTime('2026-12-01 14:23:29+05:30')).toBe('2026-12-01T14:23:29+05:30');
  });
});
