import { describe, expect, it } from 'vitest';
import { evaluateWal, estimatePending, type WalThresholds } from '../../../../../lib/tasks/wal/check/evaluate.ts';
import type { RepositoryFacts } from '../../../../../lib/tasks/wal/check/repository.ts';
import type { ServerWalFacts } from '../../../../../lib/tasks/wal/check/server.ts';
import { timelineChain } from '../../../../../lib/wal/history.ts';

const NOW = new Date('2026-11-23T12:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);
const T: WalThresholds = { ageWarnMs: 600_000, ageCritMs: 1_200_000, readyWarn: 10, readyCrit: 100, pgWalWarn: 2 * 1024 ** 3, pgWalCrit: 4 * 1024 ** 3 };

function server(over: Partial<ServerWalFacts> = {}, archiver: Partial<ServerWalFacts['archiver']> = {}): ServerWalFacts {
  return {
    versionNum: 150000,
    inRecovery: false,
    user: 'monitor',
    now: NOW,
    systemIdentifier: '771',
    walLevel: 'replica',
    archiveMode: 'on',
    archiveCommand: 'pgops wal push %p --repo file:///x',
    archiveLibrary: '',
    walSegmentSize: 16 * 1024 * 1024,
    maxWalSize: 1024 ** 3,
    walKeepSize: 0,
    timeline: 1,
    currentWalFile: '000000010000000000000010',
    ready: [],
    pgWalBytes: 256 * 1024 * 1024,
    skipped: [],
    ...over,
    archiver: { archivedCount: 15, lastArchivedWal: '00000001000000000000000F', lastArchivedTime: ago(30), failedCount: 0, lastFailedWal: null, lastFailedTime: null, statsReset: ago(86_400), ...archiver },
  };
}

function repo(over: Partial<RepositoryFacts> = {}): { facts: RepositoryFacts } {
  return {
    facts: {
      folder: 'file:///x/wal/771/',
      files: 20,
      chain: timelineChain([], 1),
      basis: 'the oldest archived segment 000000010000000000000001',
      continuity: { first: '000000010000000000000001', last: '00000001000000000000000F', expected: 15, missing: [], missingCount: 0, wrongSize: [] },
      ...over,
    },
  };
}

describe('wal check grading', () => {
  it('is OK with a status line and perfdata when archiving keeps up and the archive is continuous', () => {
    const out = evaluateWal(server(), repo(), { done: true, segment: '000000010000000000000010', seconds: 0.4 }, T, 60_000);
    expect(out.level).toBe(0);
    expect(out.line).toMatch(/^PGOPS WAL OK - /);
    expect(out.line).toContain('archive continuous from 000000010000000000000001 to 00000001000000000000000F (15 segments');
    expect(out.line).toContain('pg_switch_wal(): 000000010000000000000010 reached the repository in 0.4s');
    expect(out.line).toContain(" | 'archive_failed'=0c 'archive_age'=30s;600;1200;0 'ready'=0;10;100;0 'pg_wal'=268435456B;2147483648;4294967296;0 'missing_segments'=0;;0;0 'switch_time'=0.4s;;60;0");
  });

  it('is CRITICAL with the failure count when the last failure is newer than the last success', () => {
    const out = evaluateWal(server({}, { failedCount: 7, lastFailedWal: '000000010000000000000010', lastFailedTime: ago(5), lastArchivedTime: ago(300) }), undefined, undefined, T, 60_000);
    expect(out.level).toBe(2);
    expect(out.line).toMatch(/^PGOPS WAL CRITICAL - archiving is failing: 7 failed attempts since .*, the last for 000000010000000000000010 5\.0s ago; last success 00000001000000000000000F 5m00s ago/);
  });

  it('only notes old failures that a success followed', () => {
    const out = evaluateWal(server({}, { failedCount: 3, lastFailedWal: '00000001000000000000000E', lastFailedTime: ago(600) }), undefined, undefined, T, 60_000);
    expect(out.level).toBe(0);
    expect(out.line).toContain('3 failed attempts since the statistics reset, the last 10m00s ago and followed by success');
  });

  it('grades the .ready backlog by its thresholds', () => {
    const ready = (n: number) => Array.from({ length: n }, (_, i) => `0000000100000000000000${(0x10 + i).toString(16).toUpperCase()}`);
    expect(evaluateWal(server({ ready: ready(5) }), undefined, undefined, T, 60_000).level).toBe(0);
    const warn = evaluateWal(server({ ready: ready(11) }), undefined, undefined, T, 60_000);
    expect(warn.level).toBe(1);
    expect(warn.line).toContain('11 WAL files wait to be archived (oldest 000000010000000000000010) (warning over 10)');
    expect(evaluateWal(server({ ready: ready(11) }), undefined, undefined, { ...T, readyCrit: 10 }, 60_000).level).toBe(2);
  });

  it('grades the age of the last archived segment only while WAL files wait', () => {
    expect(evaluateWal(server({ ready: [] }, { lastArchivedTime: ago(7200) }), undefined, undefined, T, 60_000).level).toBe(0);
    const stuck = evaluateWal(server({ ready: ['000000010000000000000010'] }, { lastArchivedTime: ago(900) }), undefined, undefined, T, 60_000);
    expect(stuck.level).toBe(1);
    expect(stuck.line).toContain('last archived 00000001000000000000000F 15m00s ago while 1 WAL files wait (warning over 10m00s)');
    expect(evaluateWal(server({ ready: ['000000010000000000000010'] }, { lastArchivedTime: ago(1800) }), undefined, undefined, T, 60_000).level).toBe(2);
  });

  it('grades the size of pg_wal', () => {
    expect(evaluateWal(server({ pgWalBytes: 3 * 1024 ** 3 }), undefined, undefined, T, 60_000).line).toContain('pg_wal holds 3.0 GB (warning over 2.0 GB)');
    expect(evaluateWal(server({ pgWalBytes: 5 * 1024 ** 3 }), undefined, undefined, T, 60_000).level).toBe(2);
  });

  it('is CRITICAL when the settings cannot archive', () => {
    expect(evaluateWal(server({ walLevel: 'minimal' }), undefined, undefined, T, 60_000).line).toContain('wal_level is minimal');
    expect(evaluateWal(server({ archiveMode: 'off' }), undefined, undefined, T, 60_000).level).toBe(2);
    expect(evaluateWal(server({ archiveCommand: '', archiveLibrary: '' }), undefined, undefined, T, 60_000).line).toContain('archive_command is empty');
    expect(evaluateWal(server({ archiveCommand: '', archiveLibrary: 'basic_archive' }), undefined, undefined, T, 60_000).level).toBe(0);
  });

  it('is CRITICAL naming the missing segments', () => {
    const facts = repo({
      continuity: {
        first: '000000010000000000000001', last: '00000001000000000000000F', expected: 15, missingCount: 3, wrongSize: [],
        missing: [{ first: '000000010000000000000005', last: '000000010000000000000005', count: 1 }, { first: '000000010000000000000009', last: '00000001000000000000000A', count: 2 }],
      },
    });
    const out = evaluateWal(server(), facts, undefined, T, 60_000);
    expect(out.level).toBe(2);
    expect(out.line).toContain('3 of 15 segments from 000000010000000000000001 to 00000001000000000000000F are missing in file:///x/wal/771/: 000000010000000000000005, 000000010000000000000009..00000001000000000000000A (2 segments)');
    expect(out.line).toContain("'missing_segments'=3;;0;0");
  });

  it('is CRITICAL when the history file of the current timeline is missing or a switch times out', () => {
    expect(evaluateWal(server(), repo({ historyProblem: '00000002.history is not in the archive' }), undefined, T, 60_000).level).toBe(2);
    const late = evaluateWal(server(), repo(), { done: false, segment: '000000010000000000000010', seconds: 60 }, T, 60_000);
    expect(late.level).toBe(2);
    expect(late.line).toContain('000000010000000000000010 was not in the repository 1m00s later');
  });

  it('says what it skipped and why, as a WARNING', () => {
    const out = evaluateWal(server({ ready: null, pgWalBytes: null, skipped: ['WAL files waiting to be archived (.ready): pg_ls_archive_statusdir() needs pg_monitor'] }), repo(), { skipped: 'pg_switch_wal() is not granted to this role' }, T, 60_000);
    expect(out.level).toBe(1);
    expect(out.line).toContain('skipped WAL files waiting to be archived (.ready): pg_ls_archive_statusdir() needs pg_monitor');
    expect(out.line).toContain('--switch skipped: pg_switch_wal() is not granted');
    expect(out.line).not.toContain("'ready'=");
  });

  it('leaves a standby that does not archive to the primary', () => {
    const out = evaluateWal(server({ inRecovery: true, currentWalFile: null }), undefined, undefined, T, 60_000);
    expect(out.level).toBe(0);
    expect(out.line).toContain('standby with archive_mode = on: the primary archives');
  });

  it('estimates the backlog from the current segment when .ready files cannot be read', () => {
    expect(estimatePending(server({ ready: null }))).toBe(0);
    expect(estimatePending(server({ ready: null, currentWalFile: '000000010000000000000014' }))).toBe(4);
    expect(estimatePending(server({ ready: null, currentWalFile: '000000020000000000000014' }))).toBeNull();
  });

  it('is UNKNOWN when the repository cannot be read and the server side is fine', () => {
    const out = evaluateWal(server(), { error: 'cannot reach S3 endpoint' }, undefined, T, 60_000);
    expect(out.level).toBe(3);
    expect(out.line).toMatch(/^PGOPS WAL UNKNOWN - repository: cannot reach S3 endpoint; last archived /);
  });

  it('names the findings worst first: CRITICAL, then WARNING, then UNKNOWN, then what is fine', () => {
    const out = evaluateWal(server({ pgWalBytes: 3 * 1024 ** 3, ready: Array.from({ length: 150 }, (_, i) => `0000000100000000000001${String(i).padStart(2, '0')}`) }), { error: 'cannot reach S3 endpoint' }, undefined, T, 60_000);
    expect(out.level).toBe(2);
    expect(out.findings.map((f) => f.level)).toEqual([0, 2, 1, 3]);
    expect(out.line).toMatch(/^PGOPS WAL CRITICAL - 150 WAL files wait .*; pg_wal holds 3\.0 GB \(warning over 2\.0 GB\); repository: cannot reach S3 endpoint; last archived /);
  });

  it('grades what it could not look at below what it found: a skipped side warns, an unreadable repository is UNKNOWN', () => {
    // a side it skipped warns (it cannot vouch for it); a repository it cannot read hides no finding of the server's
    const out = evaluateWal(server({ ready: null, skipped: ['WAL files waiting to be archived (.ready): pg_ls_archive_statusdir() needs pg_monitor'] }), { error: 'access denied' }, undefined, T, 60_000);
    expect(out.level).toBe(1);
    expect(out.line).toMatch(/^PGOPS WAL WARNING - skipped WAL files waiting .*; repository: access denied/);
  });

  it('names the runbook page of the worst findings, none when OK or UNKNOWN', () => {
    expect(evaluateWal(server(), repo(), undefined, T, 60_000).runbook).toEqual([]);
    expect(evaluateWal(server(), { error: 'cannot reach S3 endpoint' }, undefined, T, 60_000).runbook).toEqual([]);
    const withGap = repo({ continuity: { first: '000000010000000000000001', last: '00000001000000000000000F', expected: 15, missing: [{ first: '000000010000000000000005', last: '000000010000000000000005', count: 1 }], missingCount: 1, wrongSize: [] } });
    const gap = evaluateWal(server(), withGap, undefined, T, 60_000);
    expect(gap.findings.filter((f) => f.level === 2)).toEqual([expect.objectContaining({ kind: 'gap' })]);
    expect(gap.runbook).toEqual(['runbooks/wal-archiving.md#5-a-gap-in-the-archive']);
    const failing = evaluateWal(server({}, { failedCount: 7, lastFailedWal: '000000010000000000000010', lastFailedTime: ago(5), lastArchivedTime: ago(300) }), undefined, undefined, T, 60_000);
    expect(failing.runbook).toEqual(['runbooks/wal-archiving-failing.md']);
    // a CRITICAL backlog beside a WARNING pg_wal: the one page, once
    const backlog = evaluateWal(server({ pgWalBytes: 3 * 1024 ** 3, ready: Array.from({ length: 150 }, (_, i) => `0000000100000000000001${String(i).padStart(2, '0')}`) }), undefined, undefined, T, 60_000);
    expect(backlog.runbook).toEqual(['runbooks/wal-archiving-failing.md']);
    // equally bad findings with different pages: each page, in the order of the line
    const both = evaluateWal(server({ archiveMode: 'off' }), withGap, undefined, T, 60_000);
    expect(both.runbook).toEqual(['runbooks/wal-archiving.md#1-set-up-archive_command', 'runbooks/wal-archiving.md#5-a-gap-in-the-archive']);
    const skipped = evaluateWal(server({ ready: null, skipped: ['pg_wal size: pg_ls_waldir() needs pg_monitor'] }), undefined, undefined, T, 60_000);
    expect(skipped.runbook).toEqual(['runbooks/wal-archiving.md#2-check-it-pgops-wal-check']);
  });

  it('keeps a multi-line error on one line and out of the perfdata', () => {
    const out = evaluateWal(server(), { error: 'request failed:\n  500 | internal error' }, undefined, T, 60_000);
    expect(out.line).toContain('repository: request failed: 500 / internal error;');
    expect(out.line.split(' | ')).toHaveLength(2);
  });
});
