import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupIdFor, backupIdTime } from '../../../lib/repo/layout.ts';
import { followPage } from '../../../tools/runbook-drill/follow.ts';
import { jsonData, runCli, spawnCli, type CliResult } from '../../support/cli.ts';
import { clusterHost, drillScratch, recordPassed } from '../../support/drill.ts';
import { filesBelow } from '../../support/files.ts';
import { pitrWorld, type PitrWorld } from '../../support/drill-pitr.ts';
import { switchWal, waitArchived, waitFor } from '../../support/wal.ts';

// runbooks/basebackup.md as a drill: a cluster archiving into a folder repository with pgops wal push, its nightly
// backup and restore drill of app, its newest base backup nine days old (the weekly run since failed) and the weekly
// point-in-time drill of that one. Everything is archived; then a run as root hands the repository to root, so the
// server user's next push fails. The weekly `pgops basebackup`, run as the cron line of the page runs it (with
// archive-timeout: 5s in the drill's config file, so that it fails in seconds, not 5 minutes), exits 2: its stop
// segment never reaches the archive. Then the page, step by step: the job's log, the check, the fix of archiving, the
// base backup again by hand; its verify step (backups list, status) must pass, and the new base backup must recover
// the rows written since the old one.

const FAILURE = "the weekly pgops basebackup exits 2: its stop segment never reaches the archive, as archive_command cannot write the folder repository (handed to root)";
const DAY = 86_400_000;
const ROWS = 100;
const WRITTEN_SINCE = 50;

const STEP5 = '5-the-stop-segment-never-reaches-the-archive-exit-2';

describe('runbooks/basebackup.md, drilled', () => {
  let w: PitrWorld;
  let scratch: string;
  // the cron line's log (/var/log/pgops/basebackup.log on the page)
  let log: string;
  let lastWeek: string;
  let before: string[];

  // pgops <args> --config <the drill's config> --target main, in this process: the drill's own setting up and looking
  const cli = (...args: string[]) => runCli([...args, '--config', w.config, '--target', 'main']);
  const ok = (r: CliResult) => expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  const completeBaseBackups = async () => {
    const r = await cli('backups', 'list', '--json');
    ok(r);
    return (jsonData(r.stdout).basebackups as { backupId: string; status: string }[]).filter((b) => b.status === 'complete').map((b) => b.backupId);
  };

  beforeAll(async () => {
    w = await pitrWorld();
    // the weekly job waits 5s, not the default 5m, for its stop segment: the failure takes seconds
    fs.appendFileSync(w.config, '    archive-timeout: 5s\n');
    scratch = drillScratch('basebackup');
    log = path.join(scratch, 'basebackup.log');
    await w.cluster.query('CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL)', [], 'app');
    await w.cluster.query(`INSERT INTO orders SELECT g, 'before last week''s base backup' FROM generate_series(1, ${ROWS}) g`, [], 'app');
    // the target's jobs: the nightly backup and restore drill of app; last week's base backup, and the weekly
    // point-in-time drill that proved it
    ok(await cli('backup'));
    ok(await cli('drill'));
    const b = await cli('basebackup', '--json');
    ok(b);
    lastWeek = ageBaseBackup(w, jsonData(b.stdout).backupId, 9 * DAY);
    ok(await cli('drill', '--pitr'));
  });

  afterAll(async () => {
    await w?.cleanup();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: the weekly run exits 2 after --archive-timeout, leaves no base backup, and status says the newest is too old', async () => {
    await w.cluster.query(`INSERT INTO orders SELECT g, 'written since last week' FROM generate_series(${ROWS + 1}, ${ROWS + WRITTEN_SINCE}) g`, [], 'app');
    // everything so far is archived: nothing waits in archive_status, and the archiver's last attempt succeeded
    await waitArchived(w.cluster, await switchWal(w.cluster));
    const archiveStatus = path.join(w.cluster.dir, 'data', 'pg_wal', 'archive_status');
    await waitFor('nothing to wait to be archived', () => !fs.readdirSync(archiveStatus).some((f) => f.endsWith('.ready')));
    // then a run as root hands the repository to root: the server user's next push is refused
    execFileSync('chown', ['-R', 'root:root', w.root]);
    execFileSync('chmod', ['-R', 'go-w', w.root]);
    before = filesBelow(path.join(w.root, 'basebackups'));

    // as cron runs it: `pgops basebackup --config ... --target main >>/var/log/pgops/basebackup.log 2>&1`
    const weekly = await spawnCli(['basebackup', '--config', w.config, '--target', 'main']);
    fs.appendFileSync(log, String(weekly.all));
    expect(weekly.exitCode, String(weekly.all)).toBe(2);
    expect(String(weekly.all)).toMatch(/the server waited \S+ \(--archive-timeout\) for the base backup's stop segment/);

    // the archiver's failure is in pg_stat_archiver (polled, for a minute at most)
    await waitFor('pg_stat_archiver to report the failure', async () => {
      const [a] = await w.cluster.query<{ failing: boolean }>('SELECT last_failed_time > coalesce(last_archived_time, \'-infinity\') AS failing FROM pg_stat_archiver');
      return a.failing;
    }, 60_000);

    // nothing of the failed run is left: the same files under basebackups/, and no complete base backup but last week's
    expect(filesBelow(path.join(w.root, 'basebackups'))).toEqual(before);
    expect(await completeBaseBackups()).toEqual([lastWeek]);

    // and the monitor: the newest base backup is too old
    const status = await cli('status');
    expect(status.exitCode, status.stdout + status.stderr).toBe(1);
    expect(status.stdout).toMatch(new RegExp(`^PGOPS STATUS WARNING - system ${w.systemId}: newest base backup ${lastWeek} is 9d[^(]* old \\(warning over 8d`, 'm'));
    expect(status.stdout).toContain('runbook: runbooks/basebackup.md');
  });

  it('following the page fixes it', async () => {
    const r = await followPage({
      page: 'basebackup.md',
      host: clusterHost(w.cluster, { fileRepo: w.root, config: w.config, more: [['/var/log/pgops/basebackup.log', log]] }),
      cwd: scratch,
      exits: {
        // while the archiver's last attempt failed: CRITICAL
        [`${STEP5}:2`]: [2],
      },
      judgements: {
        [`${STEP5}:4`]: { run: true, why: 'the server log says the push is denied permission on the folder repository' },
      },
    });
    const out = (id: string) => r.runs.find((x) => x.id === id)?.output ?? '';
    expect(out(`${STEP5}:1`)).toMatch(/^exit 2: the server waited \S+ \(--archive-timeout\) for the base backup's stop segment/m);
    expect(out(`${STEP5}:2`)).toMatch(/^PGOPS WAL CRITICAL - archiving is failing/m);
    expect(out(`${STEP5}:3`)).toMatch(/permission denied/i);
    expect(r.verifyOutput).toMatch(/^PGOPS STATUS OK - /m);
    // the data: a new complete base backup, newer than last week's, that recovers the rows written since
    const complete = await completeBaseBackups();
    expect(complete).toHaveLength(2);
    expect(complete[1]).toBe(lastWeek);
    const fresh = complete[0];
    expect(r.verifyOutput).toContain(fresh);
    // recovered on its own up to its restore point (in the segment after its stop segment: archived once switched),
    // it holds every row, those written since last week's too
    await waitArchived(w.cluster, await switchWal(w.cluster));
    const asserts = path.join(scratch, 'asserts.yml');
    fs.writeFileSync(asserts, `- name: every row\n  sql: SELECT count(*) FROM orders\n  expect: ${ROWS + WRITTEN_SINCE}\n`);
    const d = await cli('drill', '--pitr', '--backup', fresh, '--target-name', fresh, '--assert', asserts, '--json');
    const report = jsonData(d.stdout) as { result: string; backupId: string; checks: { name: string; status: string }[] };
    expect(report.checks.filter((c) => c.status !== 'pass'), d.stderr).toEqual([]);
    expect(report.backupId).toBe(fresh);
    expect(d.exitCode).toBe(0);
    recordPassed(FAILURE, r);
  });
});

// Moves a base backup back in time by ms, as if it had been taken then: its folder under the earlier backup id, and
// its manifest's id and times (status and backups list read its age from them).
function ageBaseBackup(w: PitrWorld, id: string, ms: number): string {
  const older = backupIdFor(new Date(backupIdTime(id)!.getTime() - ms));
  const folder = path.join(w.root, 'basebackups', w.systemId);
  fs.renameSync(path.join(folder, id), path.join(folder, older));
  const file = path.join(folder, older, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  const back = (iso: string) => new Date(Date.parse(iso) - ms).toISOString();
  Object.assign(m, { backupId: older, startedAt: back(m.startedAt), finishedAt: back(m.finishedAt), start: { ...m.start, time: back(m.start.time) }, stop: { ...m.stop, time: back(m.stop.time) } });
  fs.writeFileSync(file, JSON.stringify(m, null, 2) + '\n');
  return older;
}
