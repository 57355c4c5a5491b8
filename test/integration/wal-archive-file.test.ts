import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli } from '../support/cli.ts';
import { initTestRepo } from '../support/repo.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { baseBackup, pgopsCommand, recoveryThatStops, serverWritableDir, setArchiveCommand, sha256, startRecovery, switchWal, waitArchived, waitFor } from '../support/wal.ts';

// A cluster whose archive_command is pgops wal push into a file repository, checked from both ends, and recovered
// from a base backup through restore_command = pgops wal fetch.
let cluster: Cluster;
let repoDir: string;
let repo: string;
let systemId: string;
let folder: string;
const pushCommand = () => pgopsCommand('push', ['%p', '--repo', repo]);

const check = async (extra: string[] = [], db = cluster.url()) => {
  const r = await runCli(['wal', 'check', '--db', db, '--json', ...extra]);
  return { ...r, data: jsonData(r.stdout) };
};

beforeAll(async () => {
  repoDir = serverWritableDir('pgops-walrepo-');
  repo = `file://${repoDir}`;
  await initTestRepo(repo);
  cluster = await startCluster({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: pgopsCommand('push', ['%p', '--repo', `file://${repoDir}`]) } });
  systemId = (await cluster.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()'))[0].id;
  folder = path.join(repoDir, 'wal', systemId);
  await cluster.query('CREATE TABLE events (id serial PRIMARY KEY, what text NOT NULL)');
  await cluster.query(`CREATE ROLE monitor LOGIN IN ROLE pg_monitor`);
  await cluster.query(`GRANT EXECUTE ON FUNCTION pg_switch_wal() TO monitor`);
  await cluster.query(`CREATE ROLE nobody LOGIN`);
});

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(repoDir, { recursive: true, force: true });
});

describe('WAL archiving into a file repository', () => {
  it('archives the WAL the server generates: each segment verified by its sidecar', async () => {
    await cluster.query(`INSERT INTO events (what) SELECT 'row ' || g FROM generate_series(1, 20000) g`);
    let last = '';
    for (let i = 0; i < 3; i++) last = await switchWal(cluster);
    await waitArchived(cluster, last);
    const names = fs.readdirSync(folder).filter((f) => /^[0-9A-F]{24}$/.test(f));
    expect(names.length).toBeGreaterThanOrEqual(3);
    expect(names).toContain(last);
    for (const n of names) {
      const sidecar = JSON.parse(fs.readFileSync(path.join(folder, `${n}.json`), 'utf8'));
      expect(sidecar).toMatchObject({ name: n, systemIdentifier: systemId, size: 16 * 1024 * 1024, compression: 'none' });
      expect(sha256(fs.readFileSync(path.join(folder, n)))).toBe(sidecar.sha256);
    }
    expect(fs.readdirSync(folder).filter((f) => f.startsWith('.pgops-tmp-'))).toEqual([]);
  });

  it('is OK from both ends, and --switch proves a new segment reaches the repository', async () => {
    const r = await check(['--repo', repo, '--switch']);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.data.line).toMatch(/^PGOPS WAL OK - /);
    expect(r.data.line).toMatch(/pg_switch_wal\(\): [0-9A-F]{24} reached the repository in [\d.]+s/);
    expect(r.data.line).toMatch(/archive continuous from [0-9A-F]{24} to [0-9A-F]{24}/);
    expect(r.data.line).toMatch(/\| 'archive_failed'=0c 'archive_age'=\d+s;600;1200;0 'ready'=\d+;10;100;0 'pg_wal'=\d+B;\d+;\d+;0 'missing_segments'=0;;0;0 'switch_time'=/);
    expect(r.data.switch.done).toBe(true);
    expect(r.data.runbook).toEqual([]);
    expect(fs.existsSync(path.join(folder, `${r.data.switch.segment}.json`))).toBe(true);
  });

  it('works for a role with pg_monitor, and says what it skips for a role without', async () => {
    const mon = await check(['--repo', repo, '--switch'], cluster.url('postgres', 'monitor'));
    expect(mon.exitCode, mon.stdout).toBe(0);
    expect(mon.data.skipped).toEqual([]);
    const plain = await check(['--repo', repo, '--switch'], cluster.url('postgres', 'nobody'));
    expect(plain.exitCode, plain.stdout).toBe(1);
    expect(plain.data.line).toContain('pg_ls_archive_statusdir() needs pg_monitor');
    expect(plain.data.line).toContain('pg_ls_waldir() needs pg_monitor');
    expect(plain.data.line).toContain('--switch skipped: pg_switch_wal() is not granted');
    expect(plain.data.runbook).toEqual(['runbooks/wal-archiving.md#2-check-it-pgops-wal-check']);
    // what it could see, it still checked
    expect(plain.data.line).toMatch(/archive continuous from/);
  });

  it('recovers a base backup from the archive through wal fetch, up to a marker', async () => {
    await cluster.query(`INSERT INTO events (what) VALUES ('before the base backup')`);
    const base = baseBackup(cluster);
    await cluster.query(`INSERT INTO events (what) SELECT 'after the base backup ' || g FROM generate_series(1, 5000) g`);
    await switchWal(cluster);
    await cluster.query(`INSERT INTO events (what) VALUES ('marker')`);
    await cluster.query(`SELECT pg_create_restore_point('pgops-marker')`);
    await cluster.query(`INSERT INTO events (what) VALUES ('after the marker')`);
    await waitArchived(cluster, await switchWal(cluster));
    const recovered = await startRecovery(base, {
      restore_command: pgopsCommand('fetch', ['%f', '%p', '--repo', repo]),
      recovery_target_name: 'pgops-marker',
      recovery_target_action: 'promote',
    });
    try {
      await waitFor('the recovered server to promote', async () => !(await recovered.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0].r, 60_000);
      const rows = (await recovered.query<{ what: string }>(`SELECT what FROM events WHERE what IN ('before the base backup', 'marker', 'after the marker') ORDER BY id`)).map((r) => r.what);
      expect(rows).toEqual(['before the base backup', 'marker']);
      expect((await recovered.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE what LIKE 'after the base backup %'`))[0].n).toBe('5000');
      expect(recovered.log()).toMatch(/restored log file "[0-9A-F]{24}" from archive/);
      expect(recovered.log()).toContain('recovery stopping at restore point "pgops-marker"');
      // the promoted server archives its new timeline with the same command: the history file arrives, found by pg_control
      await waitFor('00000002.history in the repository', () => fs.existsSync(path.join(folder, '00000002.history.json')));
      const r = await check(['--repo', repo], recovered.url());
      expect(r.exitCode, r.stdout).toBe(0);
      expect(r.data.repository.chain.map((c: { timeline: number }) => c.timeline)).toEqual([1, 2]);
      expect(r.data.repository.basis).toMatch(/the oldest base backup label [0-9A-F]{24}\.[0-9A-F]{8}\.backup/);
    } finally {
      await recovered.stop();
    }
  });

  it('stops an archive recovery without a target at a damaged archived segment, and resumes it once the segment is whole', async () => {
    const base = baseBackup(cluster);
    const rows: Record<string, string> = {};
    for (const what of ['first', 'second', 'third']) {
      await cluster.query(`INSERT INTO events (what) SELECT '${what} ' || g FROM generate_series(1, 2000) g`);
      rows[what] = await switchWal(cluster);
    }
    await waitArchived(cluster, rows.third);
    // one byte of the segment holding the second batch, flipped in the repository
    const damaged = path.join(folder, rows.second);
    const original = fs.readFileSync(damaged);
    const flipped = Buffer.from(original);
    flipped[original.length >> 1] ^= 0xff;
    fs.writeFileSync(damaged, flipped);
    // timeline 1: the server recovered in the test before archived a timeline 2 into the same repository
    const settings = { restore_command: pgopsCommand('fetch', ['%f', '%p', '--repo', repo]), recovery_target_timeline: 'current' };
    try {
      // PostgreSQL would take exit 6 for "not archived", end the recovery there and promote without two batches
      const log = await recoveryThatStops(base, settings);
      expect(log).toContain(`${rows.second} in ${repo} does not match its sidecar`);
      expect(log).toContain('exiting 128, so that PostgreSQL stops the recovery here');
      expect(log).toMatch(new RegExp(`FATAL: +could not restore file "${rows.second}" from archive: child process exited with exit code 128`));
      expect(log).not.toContain('archive recovery complete');
    } finally {
      fs.writeFileSync(damaged, original);
    }
    const recovered = await startRecovery(base, settings);
    try {
      await waitFor('the recovered server to promote', async () => !(await recovered.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0].r, 60_000);
      const counts = await recovered.query<{ what: string; n: string }>(`SELECT split_part(what, ' ', 1) AS what, count(*) AS n FROM events WHERE what ~ '^(first|second|third) ' GROUP BY 1 ORDER BY 1`);
      expect(counts).toEqual([
        { what: 'first', n: '2000' },
        { what: 'second', n: '2000' },
        { what: 'third', n: '2000' },
      ]);
    } finally {
      await recovered.stop();
    }
  });

  it('is CRITICAL naming a segment deleted from the middle of the repository', async () => {
    const r0 = await check(['--repo', repo, '--wal-window', 'all']);
    const { first, last } = r0.data.repository.continuity;
    const names = fs.readdirSync(folder).filter((f) => /^00000001[0-9A-F]{16}$/.test(f) && f > first && f < last).sort();
    const victim = names[Math.floor(names.length / 2)];
    const aside = path.join(os.tmpdir(), `pgops-aside-${victim}`);
    fs.renameSync(path.join(folder, victim), aside);
    try {
      const r = await check(['--repo', repo, '--wal-window', 'all']);
      expect(r.exitCode).toBe(2);
      expect(r.data.line).toMatch(/^PGOPS WAL CRITICAL - 1 of \d+ segments from /);
      expect(r.data.line).toContain(`are missing in ${repo}/wal/${systemId}/: ${victim}`);
      expect(r.data.line).toContain("'missing_segments'=1;;0;0");
      expect(r.data.runbook).toEqual(['runbooks/wal-archiving.md#5-a-gap-in-the-archive']);
      expect(r.data.findings).toContainEqual({ level: 'CRITICAL', kind: 'gap', text: expect.stringContaining(victim) });
      // as text: the status line stays the first line, as monitors read it; the page follows
      const text = await runCli(['wal', 'check', '--db', cluster.url(), '--repo', repo, '--wal-window', 'all']);
      expect(text.stdout.split('\n')).toEqual([expect.stringMatching(/^PGOPS WAL CRITICAL - 1 of \d+ segments from /), 'runbook: runbooks/wal-archiving.md#5-a-gap-in-the-archive', '']);
    } finally {
      fs.renameSync(aside, path.join(folder, victim));
    }
    expect((await check(['--repo', repo, '--wal-window', 'all'])).exitCode).toBe(0);
  });

  it('is WARNING, then CRITICAL, by threshold while .ready files pile up behind a stuck archive_command', async () => {
    const block = path.join(repoDir, 'BLOCK');
    fs.writeFileSync(block, '');
    await setArchiveCommand(cluster, `while [ -e ${block} ]; do sleep 0.1; done; ${pushCommand()}`);
    try {
      for (let i = 0; i < 4; i++) await switchWal(cluster);
      await waitFor('4 .ready files', async () => (await cluster.query(`SELECT 1 FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'`)).length >= 4);
      const warn = await check(['--max-ready', '2', '--critical-ready', '10']);
      expect(warn.exitCode, warn.stdout).toBe(1);
      expect(warn.data.line).toMatch(/^PGOPS WAL WARNING - \d+ WAL files wait to be archived \(oldest [0-9A-F]{24}\) \(warning over 2\)/);
      expect(warn.data.runbook).toEqual(['runbooks/wal-archiving-failing.md']);
      const crit = await check(['--max-ready', '1', '--critical-ready', '3']);
      expect(crit.exitCode).toBe(2);
      expect(crit.data.line).toMatch(/WAL files wait to be archived .* \(critical over 3\)/);
    } finally {
      fs.rmSync(block, { force: true });
      await setArchiveCommand(cluster, pushCommand());
    }
    await waitFor('the backlog to clear', async () => (await cluster.query(`SELECT 1 FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'`)).length === 0);
    expect((await check(['--repo', repo])).exitCode).toBe(0);
  });

  it('is CRITICAL with the failure count while archive_command fails (repository not writable), OK once it works again', async () => {
    const forbidden = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-forbidden-'));
    fs.chmodSync(forbidden, 0o755);
    await setArchiveCommand(cluster, pgopsCommand('push', ['%p', '--repo', `file://${forbidden}/repo`]));
    try {
      await switchWal(cluster);
      await waitFor('archive_command to fail', async () => {
        const [a] = await cluster.query<{ failing: boolean }>('SELECT coalesce(last_failed_time > coalesce(last_archived_time, \'-infinity\'), false) AS failing FROM pg_stat_archiver');
        return a.failing;
      });
      const r = await check(['--repo', repo]);
      expect(r.exitCode).toBe(2);
      expect(r.data.line).toMatch(/^PGOPS WAL CRITICAL - archiving is failing: \d+ failed attempts since .*, the last for [0-9A-F]{24} [\d.]+s ago; last success [0-9A-F]{24}/);
      expect(r.data.runbook).toEqual(['runbooks/wal-archiving-failing.md']);
      const failed = Number(/'archive_failed'=(\d+)c/.exec(r.data.line)![1]);
      expect(failed).toBeGreaterThan(0);
      expect(fs.existsSync(path.join(forbidden, 'repo'))).toBe(false);
    } finally {
      await setArchiveCommand(cluster, pushCommand());
      fs.rmSync(forbidden, { recursive: true, force: true });
    }
    await waitFor('archiving to recover', async () => {
      const [a] = await cluster.query<{ ok: boolean }>('SELECT last_archived_time > last_failed_time AS ok FROM pg_stat_archiver');
      return a.ok;
    }, 90_000);
    const ok = await check(['--repo', repo]);
    expect(ok.exitCode, ok.stdout).toBe(0);
    expect(ok.data.line).toMatch(/\d+ failed attempts since the statistics reset, the last [\d.ms]+ ago and followed by success/);
    expect(ok.data.runbook).toEqual([]);
  });
});
