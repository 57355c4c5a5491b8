import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage } from '../../tools/runbook-drill/follow.ts';
import { fileArchive, startArchivingCluster, type ArchiveRepo } from '../support/archiving.ts';
import { runCli } from '../support/cli.ts';
import type { Cluster } from '../support/cluster.ts';
import { clusterHost, drillScratch, recordPassed } from '../support/drill.ts';
import { switchWal } from '../support/wal.ts';

// runbooks/wal-archiving-failing.md as a drill: a server archiving into a folder repository with pgops wal push;
// the repository handed to root (as a restore run by root leaves it), so every push fails with permission denied and
// WAL piles up in pg_wal; then the page, step by step. Its verify step (wal check --switch) must be OK, and every
// segment the server switched to while archiving failed must be in the repository.

const FAILURE = 'archive_command fails: the folder repository is owned by root, the server user cannot write it';

describe('runbooks/wal-archiving-failing.md, drilled', () => {
  let archive: ArchiveRepo;
  let cluster: Cluster;
  let systemId: string;
  let root: string;
  let scratch: string;
  const switched: string[] = [];

  beforeAll(async () => {
    archive = await fileArchive();
    root = decodeURIComponent(archive.url.slice('file://'.length));
    ({ cluster, systemId } = await startArchivingCluster(archive));
    scratch = drillScratch('wal-archiving-failing');
  });

  afterAll(async () => {
    await cluster?.stop();
    await archive?.cleanup();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: pushes are refused and the check is CRITICAL', async () => {
    execFileSync('chown', ['-R', 'root:root', root]);
    execFileSync('chmod', ['-R', 'go-w', root]);
    await cluster.query('CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
    for (let i = 0; i < 3; i++) {
      await cluster.query('INSERT INTO t SELECT g FROM generate_series(1, 100) g');
      switched.push(await switchWal(cluster));
    }
    // the archiver has tried at least once: the failure is in pg_stat_archiver (polled, for a minute at most)
    for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 50))) {
      const [{ failed }] = await cluster.query<{ failed: string }>('SELECT failed_count::text AS failed FROM pg_stat_archiver');
      if (Number(failed) > 0) break;
      if (Date.now() > deadline) throw new Error('the archiver has not failed once in a minute: is archive_command running?');
    }
    const check = await runCli(['wal', 'check', '--db', cluster.url(), '--repo', archive.url]);
    expect(check.exitCode, check.stdout + check.stderr).toBe(2);
    expect(check.stdout).toMatch(/^PGOPS WAL CRITICAL - archiving is failing/);
  });

  it('following the page fixes it', async () => {
    const r = await followPage({
      page: 'wal-archiving-failing.md',
      host: clusterHost(cluster, { fileRepo: root }),
      cwd: scratch,
      binds: {
        repo: archive.url,
        'oldest waiting file': (ctx) => {
          const m = /oldest ([0-9A-F]{24})/.exec(ctx.outputs.get('1-look:1') ?? '');
          if (!m) throw new Error(`the check names no oldest waiting file:\n${ctx.outputs.get('1-look:1')}`);
          return m[1];
        },
      },
      exits: {
        // while the repository cannot be written: the check is CRITICAL, the push by hand fails
        '1-look:1': [2],
        '2-find-why-it-fails:2': [2],
        // the archiver retries on its own time after the reload: the check may still see files waiting, or a failure
        '3-once-the-cause-is-fixed:2': [0, 1, 2],
      },
      judgements: {
        '2-find-why-it-fails:3': { run: true, why: 'the push said permission denied on the folder repository' },
        '4-the-disk-fills-faster-than-you-can-fix-it:1': { skip: 'pg_wal has room: the cause is fixed before it fills' },
      },
    });
    expect(r.runs.find((x) => x.id === '2-find-why-it-fails:2')?.output).toMatch(/permission denied/i);
    expect(r.verifyOutput).toMatch(/^PGOPS WAL OK - /m);
    // every segment switched while archiving failed is in the repository now
    const archived = fs.readdirSync(`${root}/wal/${systemId}`, { recursive: true }).map(String);
    for (const seg of switched) expect(archived.some((f) => f.includes(seg)), `${seg} archived`).toBe(true);
    recordPassed(FAILURE, r);
  });
});
