import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../../lib/notify/metric-list.ts';
import { groupingKey, metricsRegistry, stickyValues, taskGaugeName, textfileName, writeTextfile } from '../../../lib/notify/metrics.ts';
import type { RunOutcome } from '../../../lib/notify/outcome.ts';
import { tempDirs } from '../../support/temp-dir.ts';

const tempDir = tempDirs('pgops-metrics-');
const START = new Date('2026-11-30T03:17:00Z');
const END = new Date('2026-11-30T03:19:30Z');
const run = (over: Partial<RunOutcome>): RunOutcome => ({ task: 'backup', target: 'main', exitCode: 0, startedAt: START, finishedAt: END, summary: '', ...over });
const text = async (o: RunOutcome, lastSuccessAt: Date | null = o.exitCode <= 1 ? o.finishedAt : null, remembered = {}) => (await metricsRegistry(o, lastSuccessAt, remembered)).metrics();
// name{labels} value, for every sample of the text
const samples = (t: string) => Object.fromEntries(t.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
const unix = (iso: string) => Date.parse(iso) / 1000;

const backupData = { ok: true, backupId: '20261130T031700Z', bytes: 123_456_789, durationMs: 150_000, snapshot: { time: '2026-11-30T03:17:02.000Z', lsn: '0/5000060' } };

describe('the metrics of a run', () => {
  it('labels every sample task and target, never instance (Prometheus keeps that for the scraped target)', async () => {
    const t = await text(run({ data: backupData }));
    expect(t).not.toContain('instance');
    for (const key of Object.keys(samples(t))) expect(key).toMatch(/^pgops_[a-z_]+\{task="backup",target="main"\}$/);
  });

  it("exports a backup's size, duration and snapshot time as a dashboard needs them, as timestamps not ages", async () => {
    const s = samples(await text(run({ data: backupData })));
    const l = '{task="backup",target="main"}';
    expect(s[`pgops_backup_size_bytes${l}`]).toBe(123_456_789);
    expect(s[`pgops_backup_duration_seconds${l}`]).toBe(150);
    expect(s[`pgops_backup_timestamp_seconds${l}`]).toBe(unix('2026-11-30T03:17:02Z'));
    expect(s[`pgops_last_success_timestamp_seconds${l}`]).toBe(END.getTime() / 1000);
    expect(s[`pgops_last_bytes${l}`]).toBe(123_456_789);
    expect(s[`pgops_last_duration_seconds${l}`]).toBe(150);
  });

  it("takes a base backup's time from where it became consistent", async () => {
    const s = samples(await text(run({ task: 'basebackup', data: { ok: true, bytes: 10, durationMs: 2000, stop: { lsn: '0/7000100', time: '2026-11-29T02:00:05Z' } } })));
    expect(s['pgops_backup_timestamp_seconds{task="basebackup",target="main"}']).toBe(unix('2026-11-29T02:00:05Z'));
  });

  it('keeps the last successful backup on the dashboard through a failed run, from what the state remembered', async () => {
    const ok = run({ data: backupData });
    const remembered = stickyValues(ok, END, {});
    expect(remembered).toEqual({ pgops_backup_size_bytes: 123_456_789, pgops_backup_duration_seconds: 150, pgops_backup_timestamp_seconds: unix('2026-11-30T03:17:02Z') });
    const failed = run({ exitCode: 2, data: undefined });
    expect(stickyValues(failed, END, remembered)).toBe(remembered);
    const s = samples(await text(failed, END, remembered));
    expect(s['pgops_backup_size_bytes{task="backup",target="main"}']).toBe(123_456_789);
    expect(s['pgops_last_success{task="backup",target="main"}']).toBe(0);
    expect(s['pgops_last_exit_code{task="backup",target="main"}']).toBe(2);
    expect(s['pgops_last_bytes{task="backup",target="main"}']).toBeUndefined();
  });

  it("exports a drill's result, RTO and RPO from its report", async () => {
    const pass = samples(await text(run({ task: 'drill', data: { result: 'pass', rtoMs: 42_000, rpoMs: 3_600_000 } })));
    expect(pass['pgops_drill_passed{task="drill",target="main"}']).toBe(1);
    expect(pass['pgops_drill_rto_seconds{task="drill",target="main"}']).toBe(42);
    expect(pass['pgops_drill_rpo_seconds{task="drill",target="main"}']).toBe(3600);
    const fail = samples(await text(run({ task: 'drill-pitr', exitCode: 2, data: { result: 'fail', rtoMs: null, rpoMs: 90_000 } })));
    expect(fail['pgops_drill_passed{task="drill-pitr",target="main"}']).toBe(0);
    expect(fail['pgops_drill_rto_seconds{task="drill-pitr",target="main"}']).toBeUndefined();
    expect(fail['pgops_drill_rpo_seconds{task="drill-pitr",target="main"}']).toBe(90);
    // a drill that could not run at all has no report: it did not pass
    expect(samples(await text(run({ task: 'drill', exitCode: 3 })))['pgops_drill_passed{task="drill",target="main"}']).toBe(0);
  });

  it("exports the WAL archive's last archived time and backlog from wal check's result", async () => {
    const data = { status: 'OK', pending: 7, server: { archiver: { lastArchivedTime: new Date('2026-11-30T03:18:00Z'), failedCount: 2 } }, repository: { continuity: { missingCount: 0 } } };
    const s = samples(await text(run({ task: 'wal-check', data })));
    const l = '{task="wal-check",target="main"}';
    expect(s[`pgops_wal_last_archived_timestamp_seconds${l}`]).toBe(unix('2026-11-30T03:18:00Z'));
    expect(s[`pgops_wal_ready_segments${l}`]).toBe(7);
    expect(s[`pgops_wal_archive_failed_count${l}`]).toBe(2);
    expect(s[`pgops_wal_missing_segments${l}`]).toBe(0);
    // nothing archived yet, no repository checked: those are left out, not written as 0
    const quiet = samples(await text(run({ task: 'wal-check', data: { pending: 0, server: { archiver: { lastArchivedTime: null, failedCount: 0 } }, repository: null } })));
    expect(Object.keys(quiet).filter((k) => /last_archived|missing/.test(k))).toEqual([]);
  });

  it("exports verify's result and counts", async () => {
    const counts = { sets: 3, files: 40, damaged: 1, missing: 0, missingSegments: 2 };
    const s = samples(await text(run({ task: 'verify', target: '', exitCode: 2, data: { counts } })));
    expect(s['pgops_verify_passed{task="verify",target=""}']).toBe(0);
    expect(s['pgops_verify_damaged{task="verify",target=""}']).toBe(1);
    expect(s['pgops_verify_missing_segments{task="verify",target=""}']).toBe(2);
    expect(s['pgops_verify_files{task="verify",target=""}']).toBe(40);
    expect(samples(await text(run({ task: 'verify', exitCode: 1, data: { counts } })))['pgops_verify_passed{task="verify",target="main"}']).toBe(1);
  });

  it("exports only the metrics of the run's own job", async () => {
    const names = Object.keys(samples(await text(run({ task: 'status', data: { databases: [] } })))).map((k) => k.replace(/\{.*/, ''));
    expect(names).toEqual(['pgops_last_run_timestamp_seconds', 'pgops_last_success_timestamp_seconds', 'pgops_last_duration_seconds', 'pgops_last_exit_code', 'pgops_last_success']);
  });

  it('writes one HELP per metric whatever the job, as node_exporter demands of the files it merges; timestamps tell to subtract from time()', () => {
    const names = METRICS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of METRICS) {
      expect(m.name).toMatch(/^pgops_[a-z_]+$/);
      expect(m.help).toMatch(/^[A-Z0-9].*\.$/);
      if (m.name.endsWith('_timestamp_seconds') && m.name !== 'pgops_last_run_timestamp_seconds') expect(m.help).toContain('time() - this');
    }
  });

  it("adds a task's own figures as pgops_<task>_<name>", async () => {
    const s = samples(await text(run({ task: 'basebackup', gauges: { tar_bytes: { help: 'Tar bytes.', value: 99 } } })));
    expect(s['pgops_basebackup_tar_bytes{task="basebackup",target="main"}']).toBe(99);
    expect(taskGaugeName('recover', 'recover_replay_seconds')).toBe('pgops_recover_replay_seconds');
    expect(taskGaugeName('drill-pitr', 'drill_pitr_rows_read')).toBe('pgops_drill_pitr_rows_read');
  });
});

describe('where the metrics go', () => {
  it('names the textfile after the job and target, and writes it whole', async () => {
    expect(textfileName({ task: 'drill-pitr', target: 'eu/main' })).toBe('pgops_drill_pitr_eu_main.prom');
    expect(textfileName({ task: 'backups-list', target: '' })).toBe('pgops_backups_list.prom');
    const dir = tempDir();
    const file = await writeTextfile(dir, run({ data: backupData }), END);
    expect(path.basename(file)).toBe('pgops_backup_main.prom');
    expect(fs.readdirSync(dir)).toEqual(['pgops_backup_main.prom']);
    expect(fs.readFileSync(file, 'utf8')).toContain('# HELP pgops_backup_size_bytes ');
  });

  it('groups a push by task and target, the metrics themselves unlabelled', async () => {
    expect(groupingKey({ task: 'backup', target: 'main' })).toEqual({ task: 'backup', target: 'main' });
    expect(groupingKey({ task: 'verify', target: '' })).toEqual({ task: 'verify' });
    const pushed = await (await metricsRegistry(run({ data: backupData }), END, {}, false)).metrics();
    expect(pushed).toMatch(/^pgops_backup_size_bytes 123456789$/m);
    expect(pushed).not.toContain('{');
  });
});
