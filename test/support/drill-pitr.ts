import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { stopServer } from '../../lib/tasks/recover/server.ts';
import { bind, DEFAULT_BINDS, runBlock, stepEnvironment } from '../../tools/runbook-drill/follow.ts';
import { onHost, type DrillHost } from '../../tools/runbook-drill/host.ts';
import { parseDrillPage } from '../../tools/runbook-drill/page.ts';
import { fileArchive, startArchivingCluster, type ArchiveRepo } from './archiving.ts';
import { freePort, type Cluster } from './cluster.ts';

// What the drills of the physical pages share (point-in-time-recovery.md, pitr-drill-failed.md,
// before-risky-migration.md): a cluster archiving into a folder repository with a database app, the config file
// their --config lines read, the new data directory and port a page recovers into, and one page step run on its own.

const ROOT = new URL('../../', import.meta.url).pathname;

export interface PitrWorld {
  archive: ArchiveRepo;
  cluster: Cluster;
  systemId: string;
  /** the repository's folder (/var/backups/pgops on the pages) */
  root: string;
  /** a config file whose target main is the cluster's database app and the repository, drilled on the cluster */
  config: string;
  cleanup(): Promise<void>;
}

// A cluster archiving with pgops wal push into a folder repository, with a database app (settings: postgresql.conf).
export async function pitrWorld(settings: Record<string, string> = {}): Promise<PitrWorld> {
  const archive = await fileArchive();
  const { cluster, systemId } = await startArchivingCluster(archive, { settings });
  await cluster.query('CREATE DATABASE app');
  const config = path.join(archive.workDir, 'pgops.config.yml');
  // the restore drill of app restores onto the same server
  fs.writeFileSync(config, `targets:\n  main:\n    db: ${JSON.stringify(cluster.url('app'))}\n    repo: ${JSON.stringify(archive.url)}\n    drill-target: ${JSON.stringify(cluster.url())}\n`);
  return {
    archive,
    cluster,
    systemId,
    root: decodeURIComponent(archive.url.slice('file://'.length)),
    config,
    async cleanup() {
      await cluster.stop();
      await archive.cleanup();
    },
  };
}

// The new data directory a page recovers into, and the port it gives it (5433 on the pages).
export interface RecoveredCopy {
  pgdata: string;
  port: number;
  /** the page's literal paths and port, rewritten onto this copy (DrillHost.more) */
  rewrites: [string, string][];
  stop(): Promise<void>;
}

// A copy in scratch/<name>, for the page's data directory path (/var/lib/postgresql/15/pitr), on a free port.
export async function recoveredCopy(scratch: string, pagePath: string, name: string): Promise<RecoveredCopy> {
  const pgdata = path.join(scratch, name);
  const port = await freePort();
  return {
    pgdata,
    port,
    rewrites: [
      [pagePath, pgdata],
      // df -h /var/lib/postgresql: the disk the new directory goes on
      ['/var/lib/postgresql', scratch],
      ['/tmp/pitr-wal', path.join(scratch, 'pitr-wal')],
      ['--port 5433', `--port ${port}`],
      ['-p 5433', `-p ${port}`],
    ],
    stop: () => stopServer(pgdata, 'postgres').catch(() => {}),
  };
}

export type Order = { id: number; customer: string; status: string };

// Rows of a query on a server at 127.0.0.1:port (a live cluster, or a recovered copy that only listens there).
export async function queryOn<T extends pg.QueryResultRow>(port: number, database: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'root', database });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

// public.orders, in id order.
export const rowsOf = (port: number, database: string) => queryOn<Order>(port, database, 'SELECT id, customer, status FROM public.orders ORDER BY id');

// One step of a page run on its own, as followPage runs it (the host map, then its placeholders, each of which must
// be given), with an edit of its text where a test changes what the page leaves to the engineer (another target).
export async function runPageStep(page: string, id: string, o: { host: DrillHost; cwd: string; binds: Record<string, string>; edit?: (code: string) => string }): Promise<{ output: string; exitCode: number }> {
  const step = parseDrillPage(fs.readFileSync(path.join(ROOT, 'runbooks', page), 'utf8')).steps.find((s) => s.id === id);
  if (!step) throw new Error(`${page} has no step ${id}`);
  const code = bind((o.edit ?? ((c) => c))(onHost(step.code, o.host)), { ...DEFAULT_BINDS, ...o.binds }, { outputs: new Map(), last: '' }, id);
  return runBlock(code, { cwd: o.cwd, env: stepEnvironment(o.host), confirm: [] });
}
