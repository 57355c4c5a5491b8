import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage, type FollowContext } from '../../../tools/runbook-drill/follow.ts';
import { jsonData, runCli } from '../../support/cli.ts';
import { clusterHost, drillScratch, recordPassed } from '../../support/drill.ts';
import { pitrWorld, type PitrWorld } from '../../support/drill-pitr.ts';
import { switchWal, waitArchived } from '../../support/wal.ts';

// runbooks/pitr-drill-failed.md as a drill: a cluster archiving into a folder repository, its weekly base backup,
// a week of WAL after it; a segment in the middle of that WAL is removed from the repository (a lifecycle rule, a
// clean-up script) after the primary recycled it. The weekly `pgops drill --pitr`, run as the workflow runs it,
// fails its wal archive check naming the segment. Then the page: read the report, take a new base backup, see the
// gap, look for the file in pg_wal (gone), drill the newest base backup; its verify step, a drill with the
// workflow's limits and `pgops status`, must pass, replaying every row written after the gap.

const FAILURE = 'the weekly pgops drill --pitr fails: a WAL segment after the base backup was removed from the repository';

type Check = { name: string; status: string; detail?: string };
type Report = { result: string; backupId: string; systemIdentifier: string; checks: Check[]; drillId: string };

describe('runbooks/pitr-drill-failed.md, drilled', () => {
  let w: PitrWorld;
  let scratch: string;
  // the workflow's reports/ folder, as `gh run download` brings it (/tmp/pgops-pitr-drill on the page)
  let reports: string;
  let weeklyBackup: string;
  let missing: string;

  beforeAll(async () => {
    w = await pitrWorld();
    scratch = drillScratch('pitr-drill-failed');
    reports = path.join(scratch, 'pgops-pitr-drill');
    fs.mkdirSync(reports);
  });

  afterAll(async () => {
    await w?.cleanup();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  // The weekly drill as .github/workflows/pitr-drill.yml runs it: its --json report into the reports folder.
  async function weeklyDrill(): Promise<{ exitCode: number; report: Report }> {
    const r = await runCli(['drill', '--pitr', '--config', w.config, '--target', 'main', '--amcheck', '--max-rto', '4h', '--max-rpo', '1h', '--json']);
    fs.writeFileSync(path.join(reports, 'pitr-drill.json'), r.stdout);
    return { exitCode: r.exitCode, report: jsonData(r.stdout) as Report };
  }

  it('fails as the page says: the drill exits 2, its wal archive check names the missing segment', async () => {
    const { cluster } = w;
    await cluster.query('CREATE TABLE orders (id int PRIMARY KEY, batch int NOT NULL)', [], 'app');
    await cluster.query('INSERT INTO orders SELECT g, 0 FROM generate_series(1, 100) g', [], 'app');
    // the target's jobs: the nightly backup and the weekly restore drill of app, the weekly base backup
    for (const job of [['backup'], ['drill']]) {
      const j = await runCli([...job, '--config', w.config, '--target', 'main']);
      expect(j.exitCode, j.stdout + j.stderr).toBe(0);
    }
    const b = await runCli(['basebackup', '--config', w.config, '--target', 'main', '--json']);
    expect(b.exitCode, b.stderr).toBe(0);
    weeklyBackup = jsonData(b.stdout).backupId;
    // the week after it: a segment per batch, all archived
    const after: string[] = [];
    for (const batch of [1, 2, 3]) {
      await cluster.query(`INSERT INTO orders SELECT g, ${batch} FROM generate_series(${batch * 1000}, ${batch * 1000 + 99}) g`, [], 'app');
      after.push(await switchWal(cluster));
    }
    await waitArchived(cluster, after[2]);
    // the primary recycles what it archived; then the middle segment goes from the repository
    await cluster.query('CHECKPOINT');
    missing = after[1];
    expect(fs.existsSync(path.join(cluster.dir, 'data', 'pg_wal', missing))).toBe(false);
    for (const f of [missing, `${missing}.json`]) fs.rmSync(path.join(w.root, 'wal', w.systemId, f));

    const { exitCode, report } = await weeklyDrill();
    expect(exitCode).toBe(2);
    expect(report).toMatchObject({ result: 'fail', backupId: weeklyBackup });
    expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual(['wal archive']);
    expect(report.checks.find((c) => c.name === 'wal archive')!.detail).toContain(`WAL file ${missing} is missing`);
    // and the monitor: no point-in-time drill passed
    const status = await runCli(['status', '--config', w.config, '--target', 'main']);
    expect(status.exitCode, status.stdout).not.toBe(0);
    expect(status.stdout).toMatch(/point-in-time drill/);
  });

  it('following the page gets a passing point-in-time drill again', async () => {
    const r = await followPage({
      page: 'pitr-drill-failed.md',
      host: clusterHost(w.cluster, { fileRepo: w.root, config: w.config, more: [['/tmp/pgops-pitr-drill', reports]] }),
      cwd: scratch,
      binds: {
        // what the engineer reads off the report
        'system id': (ctx) => fromReport(ctx, /"systemIdentifier": "(\d+)"/),
        'missing segment': (ctx) => fromReport(ctx, /WAL file ([0-9A-F]{24}) is missing/),
      },
      exits: {
        // the gap stays in the archive while the older base backup needs the file; pg_wal no longer has it
        'a-gap-in-the-archive:2': [2],
        'a-gap-in-the-archive:3': [2],
      },
      judgements: {
        '1-read-the-report:3': { run: true, why: 'a folder repository: the reports of this and earlier drills' },
        'a-damaged-base-backup:1': { skip: 'the failing check is wal archive, not base backup' },
        '3-drill-again-by-hand:1': { skip: 'a gap: the same base backup stops at the gap again' },
        '3-drill-again-by-hand:3': { skip: 'no drill was run with --keep' },
      },
    });
    const out = (id: string) => r.runs.find((x) => x.id === id)?.output ?? '';
    expect(out('1-read-the-report:2')).toContain(`WAL file ${missing} is missing`);
    expect(out('a-gap-in-the-archive:2')).toMatch(/^PGOPS WAL CRITICAL - /m);
    expect(out('a-gap-in-the-archive:2')).toContain(missing);
    expect(out('3-drill-again-by-hand:2')).toMatch(/^point-in-time drill of base backup \S+ of system \d+ to latest PASSED/m);
    expect(r.verifyOutput).toMatch(/^point-in-time drill of base backup \S+ of system \d+ to latest PASSED/m);
    expect(r.verifyOutput).toMatch(/^PGOPS STATUS OK - /m);
    // the drills passed on the new base backup, and replayed every row written after the gap
    const stored = fs.readdirSync(path.join(w.root, 'drills', `@${w.systemId}`)).sort().map((f) => JSON.parse(fs.readFileSync(path.join(w.root, 'drills', `@${w.systemId}`, f), 'utf8')) as Report);
    const newest = stored.at(-1)!;
    expect(newest.result).toBe('pass');
    expect(newest.backupId).not.toBe(weeklyBackup);
    expect(newest.checks.find((c) => c.name === 'archive end')?.status).toBe('pass');
    recordPassed(FAILURE, r);
  });

  it('the recovered cluster of a drill now holds every row, those written after the gap too', async () => {
    const asserts = path.join(scratch, 'asserts.yml');
    fs.writeFileSync(asserts, '- name: every batch\n  sql: SELECT count(*) FROM orders\n  expect: 400\n');
    const d = await runCli(['drill', '--pitr', '--config', w.config, '--target', 'main', '--assert', asserts, '--json']);
    const report = jsonData(d.stdout) as Report;
    expect(report.checks.filter((c) => c.status !== 'pass'), d.stderr).toEqual([]);
    expect(report.checks.find((c) => c.name === 'assertion every batch')?.status).toBe('pass');
    expect(d.exitCode).toBe(0);
  });
});

// The first group of pattern in the report step 1 printed with jq.
function fromReport(ctx: FollowContext, pattern: RegExp): string {
  const m = pattern.exec(ctx.outputs.get('1-read-the-report:2') ?? '');
  if (!m) throw new Error(`the report says nothing like ${pattern}:\n${ctx.outputs.get('1-read-the-report:2')}`);
  return m[1];
}
