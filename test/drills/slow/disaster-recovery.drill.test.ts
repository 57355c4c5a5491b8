import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopServer } from '../../../lib/tasks/recover/server.ts';
import { followPage } from '../../../tools/runbook-drill/follow.ts';
import { s3Archive, startArchivingCluster, type ArchiveRepo } from '../../support/archiving.ts';
import { binDir, freePort, type Cluster } from '../../support/cluster.ts';
import { clusterHost, drillScratch, recordPassed } from '../../support/drill.ts';
import { nightlyBackup, pgbench, restoreBinds, scheduled, tableContents } from '../../support/drill-restores.ts';
import { startS3Server, type S3Server } from '../../support/s3.ts';
import { switchWal, waitArchived } from '../../support/wal.ts';

// runbooks/disaster-recovery.md as a drill: a server archiving into an S3 repository (s3rver) with pgops wal push,
// as the schedules left it: a nightly logical set, a base backup, a passing restore drill and a passing
// point-in-time drill; pgbench's tables (made and worked on by pgbench itself) and a table of ours, written to after
// the base backup and archived. Then the server is gone: stopped, its data directory removed. The page's fast path
// recovers the newest base backup to the end of the archive into a new data directory on the "new machine" (a new
// folder and port here), takes the first backups of the new server, and its verify steps (status, health) must be
// OK. Every row committed and archived before the loss is back, and the recovered server archives its new timeline.
//
// The host map: <host> is the lost server, <new-host> (and the page's `--port 5432`) the recovered one, its data
// directory a new folder; /etc/pgops/pgops.config.yml is a config file this drill writes (its target main: the new
// server's database, the S3 repository), as the page says to put it back. The repository's endpoint and credentials
// reach pgops through the environment, as the AWS default credential chain would. Not run here, and marked `outside`
// on the page: gh (the schedules live on GitHub), aws s3 cp and apt-get (the cloud console and the package manager),
// npm install -g (the checkout's bin is pgops), and pg_dropcluster: it removes the empty cluster Debian's package
// makes on a new machine; this machine's new data directory is a fresh folder with no such cluster, and the machine's
// own Debian cluster registry (/etc/postgresql) is not the drill's to touch.

const FAILURE = 'the server is gone (stopped, its data directory removed) while archiving into S3; a base backup exists';
const DB = 'app';

describe('runbooks/disaster-recovery.md, drilled', () => {
  let s3: S3Server;
  let archive: ArchiveRepo;
  let cluster: Cluster;
  let systemId: string;
  let scratch: string;
  let newPgdata: string;
  let newPort: number;
  let config: string;
  let beforeLoss: Record<string, string>;

  const run = (args: string[]) => scheduled([...args, '--repo', archive.url], archive.env);
  const pgdataOf = (c: Cluster) => path.join(c.dir, 'data');

  beforeAll(async () => {
    s3 = await startS3Server();
    archive = await s3Archive(s3, 'pgops');
    ({ cluster, systemId } = await startArchivingCluster(archive, { settings: { full_page_writes: 'on' } }));
    scratch = drillScratch('disaster-recovery');
    newPgdata = path.join(scratch, 'main');
    newPort = await freePort();
    // Debian's clusters' superuser, which the page's URLs name
    cluster.psql(`CREATE ROLE postgres SUPERUSER LOGIN; CREATE DATABASE ${DB};`);
    pgbench(cluster, DB, ['-i', '-s', '1', '-q']);
    cluster.psql(`CREATE TABLE public.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), what text NOT NULL);
                  INSERT INTO events (what) SELECT 'before the base backup ' || g FROM generate_series(1, 100) g;`, DB);
    // what the schedules did: the nightly set, the weekly base backup, the weekly drills (both passed)
    await nightlyBackup(cluster.url(DB), archive.url, archive.env);
    await run(['basebackup', '--db', cluster.url()]);
    await run(['drill', '--db', DB, '--target', cluster.url('postgres')]);
    await run(['drill', '--pitr', '--tmp-dir', scratch]);
    // the day goes on after the base backup: pgbench's transactions and ours, every segment archived
    pgbench(cluster, DB, ['-n', '-c', '2', '-t', '300']);
    cluster.psql(`INSERT INTO events (what) SELECT 'after the base backup ' || g FROM generate_series(1, 100) g;`, DB);
    await waitArchived(cluster, await switchWal(cluster));
    beforeLoss = await tableContents(cluster.url(DB));
    config = path.join(scratch, 'pgops.config.yml');
    fs.writeFileSync(config, `targets:\n  main:\n    db: postgresql://postgres@127.0.0.1:${newPort}/${DB}\n    repo: ${archive.url}\n`);
  }, 300_000);

  afterAll(async () => {
    if (newPgdata && fs.existsSync(path.join(newPgdata, 'postmaster.pid'))) await stopServer(newPgdata, 'postgres').catch(() => {});
    await cluster?.stop();
    await archive?.cleanup();
    await s3?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: the server is gone, and with it its data directory', async () => {
    const stop = [path.join(binDir(), 'pg_ctl'), '-D', pgdataOf(cluster), '-m', 'immediate', '-w', 'stop'];
    // as the server's user (runuser when we are root, as test/support/cluster.ts starts it)
    if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', ...stop], { stdio: 'pipe' });
    else execFileSync(stop[0], stop.slice(1), { stdio: 'pipe' });
    fs.rmSync(pgdataOf(cluster), { recursive: true, force: true });
    expect(() => execFileSync('psql', ['-X', '-d', cluster.url(DB), '-c', 'SELECT 1'], { stdio: 'pipe' })).toThrow(/Connection refused/);
    expect(fs.existsSync(pgdataOf(cluster))).toBe(false);
  });

  it("following the page's fast path brings back every row committed and archived before the loss", async () => {
    const r = await followPage({
      page: 'disaster-recovery.md',
      host: clusterHost(cluster, { newHost: { port: newPort }, pgdata: newPgdata, config, more: [['--port 5432', `--port ${newPort}`]] }),
      cwd: scratch,
      env: archive.env as Record<string, string>,
      binds: restoreBinds(archive.url, DB, '4-pick-the-path:1'),
      judgements: {
        '6-the-fallback-restore-globals-and-the-database-from-the-logical-set:1': { skip: 'step 5 recovered the newest base backup to the end of the archive' },
        '7-verify:1': { run: true, why: 'the full proof that the newest logical set restores on the new server too' },
      },
    });
    expect(r.runs.find((x) => x.id === '5-the-fast-path-recover-the-newest-base-backup-to-the-end-of-the-archive:2')?.output).toMatch(/recovered into .* to latest: promoted, running on port \d+/);
    expect(r.verifyOutput).toMatch(/^PGOPS STATUS OK/m);
    expect(r.verifyOutput).toMatch(/^PGOPS HEALTH OK/m);
    // every row committed and archived before the loss, in every table
    expect(await tableContents(`postgresql://root@127.0.0.1:${newPort}/${DB}`)).toEqual(beforeLoss);
    // the recovered server is the same system, promoted onto a new timeline, and archives that into the repository
    const recovered = `postgresql://root@127.0.0.1:${newPort}/postgres`;
    const [facts] = await rowsOf(recovered, `SELECT system_identifier::text AS id, substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS timeline, pg_is_in_recovery() AS standby FROM pg_control_system()`);
    expect(facts).toMatchObject({ id: systemId, standby: false });
    expect(facts.timeline).toBe('00000002');
    // step 9's base backup waited for its stop segment to be archived: the new timeline reaches the repository
    expect(r.runs.find((x) => x.id === '9-re-enable-the-schedules:1')?.output).toMatch(/\(timeline 2\), WAL 00000002[0-9A-F]{16}, into s3:/);
    recordPassed(FAILURE, r);
  });
});

// One query's rows, over a connection of its own.
async function rowsOf(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}
