import fs from 'node:fs';
import path from 'node:path';
import { runCli, spawnCli, type CliResult } from './cli.ts';
import { startCluster, type Cluster } from './cluster.ts';
import { clusterHost } from './drill.ts';
import type { DrillHost } from '../../tools/runbook-drill/host.ts';
import { initTestRepo } from './repo.ts';

// The world of the backup and drill pages (backup-failed.md, drill-failed.md): a server with an "app" database, a
// folder repository, and the jobs' config file with its target main (the page's /etc/pgops/pgops.config.yml). The
// drill server of target main is the same server: a drill restores into a scratch database there.

export interface BackupWorld {
  cluster: Cluster;
  /** the repository's folder (the page's /var/backups/pgops) and its URL */
  repoRoot: string;
  repoUrl: string;
  /** the config file naming target main */
  config: string;
  /** pgops <args> --config <config> --target main, as its own process, as cron or the workflow runs it */
  job(...args: string[]): Promise<CliResult & { all: string }>;
  /** the same in this process (runCli): the drill's own setting up and looking, quicker than a process each */
  cli(...args: string[]): Promise<CliResult>;
  /** the environment of pgops's runs here, the page's steps' too: where runs remember their last result */
  env: Record<string, string>;
  /** the page's host: this server, this repository, this config */
  host(more?: Partial<DrillHost>): DrillHost;
  stop(): Promise<void>;
}

// Starts the server with `rows` rows of app.orders (about 100 bytes each, md5 text that compresses about 2:1), an
// initialised repository in repoRoot, and the config file in scratch.
export async function startBackupWorld(o: { scratch: string; repoRoot: string; rows: number; retention?: Record<string, number> }): Promise<BackupWorld> {
  const cluster = await startCluster();
  await cluster.query('CREATE DATABASE app');
  cluster.psql(
    `CREATE TABLE orders (id bigint PRIMARY KEY, note text);
     INSERT INTO orders SELECT g, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) FROM generate_series(1, ${o.rows}) g;
     CREATE TABLE customers (id int PRIMARY KEY, name text);
     INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 100) g;`,
    'app',
  );
  const repoUrl = `file://${o.repoRoot}`;
  await initTestRepo(repoUrl);
  const config = path.join(o.scratch, 'pgops.config.yml');
  const retention = o.retention ? `\n    retention: { ${Object.entries(o.retention).map(([k, v]) => `${k}: ${v}`).join(', ')} }` : '';
  fs.writeFileSync(
    config,
    `targets:
  main:
    db: ${cluster.url('app')}
    repo: ${repoUrl}
    fingerprint: hash
    drill-target: ${cluster.url('postgres')}${retention}
`,
  );
  const env = { PGOPS_STATE_DIR: path.join(o.scratch, 'state') };
  return {
    cluster,
    env,
    repoRoot: o.repoRoot,
    repoUrl,
    config,
    async job(...args) {
      const r = await spawnCli([...args, '--config', config, '--target', 'main'], env);
      return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr), all: String(r.all) };
    },
    cli: (...args) => runCli([...args, '--config', config, '--target', 'main'], { HOME: process.env.HOME, ...env }),
    host: (more = {}) => clusterHost(cluster, { config, fileRepo: o.repoRoot, ...more }),
    stop: () => cluster.stop(),
  };
}

// The complete sets of app in the repository, newest first, as `pgops backups list --json` lists them.
export async function completeSets(w: BackupWorld): Promise<{ backupId: string; status: string; verified: boolean }[]> {
  const r = await w.cli('backups', 'list', '--json');
  if (r.exitCode !== 0) throw new Error(`backups list exited ${r.exitCode}:\n${r.stdout}${r.stderr}`);
  const sets = (JSON.parse(r.stdout).data.sets as { backupId: string; status: string; verified: boolean; database: string }[]).filter((s) => s.database === 'app');
  return sets.filter((s) => s.status === 'complete');
}
