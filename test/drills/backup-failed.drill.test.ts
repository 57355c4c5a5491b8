import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage } from '../../tools/runbook-drill/follow.ts';
import { drillScratch, recordPassed } from '../support/drill.ts';
import { completeSets, startBackupWorld, type BackupWorld } from '../support/drill-backups.ts';
import { filesBelow } from '../support/files.ts';
import { mountSmallDisk, unmountSmallDisk, type SmallDisk } from '../support/tmpfs.ts';

// runbooks/backup-failed.md as a drill: a folder repository on a disk (a tmpfs) sized for three sets, holding three,
// since the prune job has not been deleting what the retention (keep-last 2) does not keep. The nightly backup, run
// as the cron line of backup.md runs it, fails with no space left on the repository's disk; then the page, step by step. Its verify
// step (backups list, status) must pass, and the new set must hold the rows written since the last one.

const FAILURE = 'the nightly backup fails: no space left on the repository\'s disk, a tmpfs full of sets prune did not delete';
const ROWS = 20_000;
const WRITTEN_SINCE = 100;

describe('runbooks/backup-failed.md, drilled', () => {
  let disk: SmallDisk | undefined;
  let world: BackupWorld;
  let scratch: string;
  let log: string;
  let before: string[];
  let setsBefore: string[];
  let failedAt: string;

  beforeAll(async () => {
    scratch = drillScratch('backup-failed');
    log = path.join(scratch, 'backup.log');
    disk = mountSmallDisk(os.tmpdir(), '8m', 'the backup-failed drill');
    if (!disk.point) return;
    const repoRoot = path.join(disk.point, 'pgops');
    fs.mkdirSync(repoRoot);
    world = await startBackupWorld({ scratch, repoRoot, rows: ROWS, retention: { 'keep-last': 2 } });
    // three nightly sets, the newest proved by the weekly drill
    for (let i = 0; i < 3; i++) expect((await world.cli('backup')).exitCode).toBe(0);
    expect((await world.cli('drill')).exitCode).toBe(0);
    setsBefore = (await completeSets(world)).map((s) => s.backupId);
    // the disk was sized for three sets: what is left is half of one
    const { blocks, bfree, bsize } = fs.statfsSync(disk.point);
    const setBytes = fs.statSync(path.join(repoRoot, 'backups/app', setsBefore[0], 'dump')).size;
    const size = Math.ceil(((blocks - bfree) * bsize + setBytes / 2) / 4096) * 4;
    execFileSync('mount', ['-o', `remount,size=${size}k`, disk.point]);
  });

  afterAll(async () => {
    await world?.stop();
    unmountSmallDisk(disk);
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: the nightly run exits 2 with no space left, and leaves nothing that looks complete', async (ctx) => {
    if (!disk?.point) return ctx.skip();
    await world.cluster.query(`INSERT INTO orders SELECT g, 'written since the last set' FROM generate_series(${ROWS + 1}, ${ROWS + WRITTEN_SINCE}) g`, [], 'app');
    before = filesBelow(world.repoRoot);
    failedAt = new Date().toISOString();
    // as cron runs it: `pgops backup --config ... --target main >>/var/log/pgops/backup.log 2>&1`
    const nightly = await world.job('backup');
    fs.appendFileSync(log, nightly.all);
    expect(nightly.exitCode, nightly.all).toBe(2);
    expect(nightly.all).toMatch(/no space left on the repository's disk/);
    expect(nightly.all).toContain(world.repoRoot);
    // nothing of the failed run is left: the same files, the same complete sets, and verify finds no leftover
    expect(filesBelow(world.repoRoot)).toEqual(before);
    expect(fs.readdirSync(path.join(world.repoRoot, 'backups/app')).sort()).toEqual([...setsBefore].sort());
    expect((await completeSets(world)).map((s) => s.backupId)).toEqual(setsBefore);
    const verify = await world.cli('verify');
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).not.toMatch(/no manifest|temp file/);
  });

  it('following the page fixes it', async (ctx) => {
    if (!disk?.point) return ctx.skip();
    const r = await followPage({
      page: 'backup-failed.md',
      // the cron line's log (backup.md, step 2) is this drill's
      host: world.host({ more: [['/var/log/pgops/backup.log', log]] }),
      cwd: scratch,
      env: world.env,
      judgements: {
        '2-fix-what-the-message-names:2': { run: true, why: 'the disk is full and the plan deletes a set the retention rules do not keep: prune has not been running' },
        '4-if-it-keeps-failing:1': { skip: 'the repository has room again once prune has run: no interim folder is needed' },
      },
    });
    const out = (id: string) => r.runs.find((x) => x.id === id)?.output ?? '';
    expect(out('1-read-the-failed-run:2')).toMatch(/^exit 2: no space left on the repository's disk \(/m);
    // the plan: the oldest set goes, the two newest stay
    expect(out('2-fix-what-the-message-names:1')).toMatch(new RegExp(`${setsBefore[2]}\\s+delete`));
    expect(r.verifyOutput).toMatch(/^PGOPS STATUS OK - /m);
    // the data: a new complete set after the failed run, with the rows written since the last set; the two newest
    // old sets kept
    const sets = await completeSets(world);
    expect(sets.map((s) => s.backupId)).toEqual([expect.any(String), setsBefore[0], setsBefore[1]]);
    const fresh = sets[0].backupId;
    expect(fresh > failedAt.replace(/[-:]/g, '').slice(0, 15)).toBe(true);
    const manifest = JSON.parse(fs.readFileSync(path.join(world.repoRoot, 'backups/app', fresh, 'manifest.json'), 'utf8'));
    expect(manifest.fingerprints.tables.find((t: { name: string }) => t.name === 'orders').rows).toBe(ROWS + WRITTEN_SINCE);
    const verify = await world.cli('verify');
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    recordPassed(FAILURE, r);
  });
});
