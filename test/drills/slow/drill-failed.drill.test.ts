import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage, type FollowContext } from '../../../tools/runbook-drill/follow.ts';
import { drillScratch, recordPassed } from '../../support/drill.ts';
import { completeSets, startBackupWorld, type BackupWorld } from '../../support/drill-backups.ts';

// runbooks/drill-failed.md as a drill: three nightly sets in a folder repository, the oldest proved by last week's
// drill; a byte of the newest set's dump flipped after the backup wrote it (the storage), so this week's drill of
// the newest set fails its checksums check and `pgops status` warns. Then the page, step by step. Its verify step
// (status) must be OK, with a passing drill of a new set; the damaged set is kept, as the page says.

const FAILURE = 'the weekly drill fails its checksums check: a byte flipped in the dump of the newest set';

describe('runbooks/drill-failed.md, drilled', () => {
  let world: BackupWorld;
  let scratch: string;
  let sets: string[];
  let damaged: string;

  beforeAll(async () => {
    scratch = drillScratch('drill-failed');
    const repoRoot = path.join(scratch, 'pgops');
    fs.mkdirSync(repoRoot);
    world = await startBackupWorld({ scratch, repoRoot, rows: 5000 });
    // last week: a set and its passing drill; then two more nightly sets
    expect((await world.cli('backup')).exitCode).toBe(0);
    expect((await world.cli('drill')).exitCode).toBe(0);
    for (let i = 0; i < 2; i++) expect((await world.cli('backup')).exitCode).toBe(0);
    sets = (await completeSets(world)).map((s) => s.backupId);
    damaged = sets[0];
    // the storage flips a byte in the middle of the newest dump: same size, another sha256
    const dump = path.join(repoRoot, 'backups/app', damaged, 'dump');
    const bytes = fs.readFileSync(dump);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(dump, bytes);
  });

  afterAll(async () => {
    await world?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: the weekly drill fails on checksums, and status warns that the newest drill failed', async () => {
    // as the weekly workflow runs it: pgops drill --config ... --target main (the newest set)
    const weekly = await world.job('drill');
    expect(weekly.exitCode, weekly.all).toBe(2);
    expect(weekly.stdout).toMatch(new RegExp(`^drill of backup ${damaged} of "app" FAILED`, "m"));
    expect(weekly.stdout).toMatch(/^ {2}FAIL checksums: .*dump/m);
    // its report is stored, beside last week's
    expect(fs.readdirSync(path.join(world.repoRoot, 'drills/app'))).toHaveLength(2);
    const status = await world.cli('status');
    expect(status.exitCode, status.stdout + status.stderr).toBe(1);
    expect(status.stdout).toMatch(new RegExp(`^PGOPS STATUS WARNING - app: .*the newest drill \\d{8}T\\d{6}Z \\(backup ${damaged}\\) failed`));
  });

  it('following the page fixes it', async () => {
    const r = await followPage({
      page: 'drill-failed.md',
      host: world.host(),
      cwd: scratch,
      env: world.env,
      binds: {
        database: 'app',
        // the report names the set that failed
        'backup-id': (ctx) => match(ctx, '1-read-the-report:2', /"backupId": "(\d{8}T\d{6}Z)"/),
        // the complete set listed just after (older than) the damaged one
        'older-backup-id': (ctx) => {
          const listed = [...(ctx.outputs.get('3-a-damaged-set-checksums-failed:2') ?? '').matchAll(/^app\s+(\d{8}T\d{6}Z)\s+complete\b/gm)].map((m) => m[1]);
          const older = listed[listed.indexOf(match(ctx, '1-read-the-report:2', /"backupId": "(\d{8}T\d{6}Z)"/)) + 1];
          if (!older) throw new Error(`no complete set older than the damaged one in the list:\n${ctx.outputs.get('3-a-damaged-set-checksums-failed:2')}`);
          return older;
        },
      },
      exits: {
        // while the newest set is damaged its drill fails, by latest and by id; verify is CRITICAL as long as it is kept
        '2-drill-again-by-hand:1': [2],
        '2-drill-again-by-hand:2': [2],
        '3-a-damaged-set-checksums-failed:1': [2],
      },
      judgements: {
        '3-a-damaged-set-checksums-failed:3': { run: true, why: 'the set before the damaged one is not verified: on-call has only last week\'s set to restore from' },
        '3-a-damaged-set-checksums-failed:4': { run: true, why: 'the damaged set is the newest: the drill of latest failed on checksums too' },
      },
    });
    const out = (id: string) => r.runs.find((x) => x.id === id)?.output ?? '';
    expect(out('1-read-the-report:2')).toContain('"name": "checksums"');
    for (const id of ['2-drill-again-by-hand:1', '2-drill-again-by-hand:2']) expect(out(id)).toMatch(new RegExp(`^drill of backup ${damaged} of "app" FAILED[^]*FAIL checksums`, 'm'));
    expect(out('3-a-damaged-set-checksums-failed:1')).toMatch(new RegExp(`^\\[CRITICAL\\] backups/app/${damaged}/dump does not match its manifest`, 'm'));
    expect(r.verifyOutput).toMatch(/^PGOPS STATUS OK - /m);
    expect(r.verifyOutput).toMatch(/^true$/m);
    // the data: a new set, proved by the newest drill; the set before the damaged one proved too; the damaged set
    // kept (the evidence), unproved; no scratch database left on the drill server
    const now = await completeSets(world);
    expect(now.map((s) => s.backupId)).toEqual([expect.any(String), ...sets]);
    expect(now.map((s) => s.verified)).toEqual([true, false, true, true]);
    const reports = fs.readdirSync(path.join(world.repoRoot, 'drills/app')).sort();
    const newest = JSON.parse(fs.readFileSync(path.join(world.repoRoot, 'drills/app', reports.at(-1)!), 'utf8'));
    expect(newest).toMatchObject({ backupId: now[0].backupId, result: 'pass' });
    expect(newest.checks.find((c: { name: string }) => c.name === 'tables')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/^2 of 2 tables match/) });
    expect(await world.cluster.query(`SELECT datname FROM pg_database WHERE datname LIKE 'pgops_drill_%'`)).toEqual([]);
    recordPassed(FAILURE, r);
  });
});

// The first group of `re` in what step `id` printed; the drill stops when the step did not print it.
function match(ctx: FollowContext, id: string, re: RegExp): string {
  const m = re.exec(ctx.outputs.get(id) ?? '');
  if (!m) throw new Error(`step ${id} printed no ${re}:\n${ctx.outputs.get(id)}`);
  return m[1];
}
