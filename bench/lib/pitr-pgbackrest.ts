import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SUPERUSER, type Cluster } from '../../test/support/cluster.ts';
import { log } from './main.ts';
import type { Command } from './measure.ts';

// pgBackRest as bench:pitr runs it: one stanza whose repository is a folder, every command as the server's OS user
// (archive_command and restore_command run as that user, so the repository, log and lock folders are its own).

const isRoot = process.getuid?.() === 0;
export const STANZA = 'bench';

/** the settings that make the comparison like with like; bench/README.md says why each is there */
export const PGBACKREST_SETTINGS = ['process-max=2', 'compress-type=none', 'start-fast=y', 'archive-async=n', 'repo1-retention-full=9999'];

// pgBackRest from PATH; installed with apt-get when missing and we may (bench:wal does the same).
export function ensurePgBackRest(): string {
  const which = () => spawnSync('sh', ['-c', 'command -v pgbackrest'], { encoding: 'utf8' }).stdout.trim();
  if (which()) return which();
  if (isRoot && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
    log('pgbackrest not found: apt-get install -y pgbackrest');
    execFileSync('apt-get', ['install', '-y', '-qq', 'pgbackrest'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (which()) return which();
  }
  throw new Error('pgbackrest not found: install it (Debian/Ubuntu: apt-get install pgbackrest) and run again');
}

// A command run as the server's OS user (postgres when we are root; ourselves otherwise).
export function asServerUser(file: string, args: string[], env: NodeJS.ProcessEnv): Command {
  return isRoot ? { file: 'runuser', args: ['-u', 'postgres', '--', file, ...args], env } : { file, args, env };
}

export interface PgBackRest {
  config: string;
  /** `pgbackrest ... archive-push %p`, for archive_command */
  archivePush: string;
  /** a pgbackrest command (as the server user) with the stanza's config */
  command(args: string[]): Command;
  /** creates the stanza (the cluster must be running) */
  createStanza(): void;
  /** the label of the newest backup of the stanza and the WAL segment it starts in (pgbackrest info) */
  newestBackup(): { label: string; startSegment: string };
}

// Writes a pgBackRest configuration for the cluster into dir (made the server user's): repository, log, lock and
// spool folders inside it.
export function pgBackRestFor(cluster: Cluster, dir: string, env: NodeJS.ProcessEnv): PgBackRest {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const config = path.join(dir, 'pgbackrest.conf');
  fs.writeFileSync(
    config,
    [
      '[global]',
      `repo1-path=${dir}/repo`,
      `log-path=${dir}/log`,
      `lock-path=${dir}/lock`,
      `spool-path=${dir}/spool`,
      'log-level-console=warn',
      'log-level-stderr=warn',
      'log-level-file=off',
      ...PGBACKREST_SETTINGS,
      `[${STANZA}]`,
      `pg1-path=${cluster.dir}/data`,
      `pg1-socket-path=${cluster.dir}`,
      `pg1-port=${cluster.port}`,
      `pg1-user=${SUPERUSER}`,
      '',
    ].join('\n'),
  );
  fs.chmodSync(config, 0o644);
  if (isRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const command = (args: string[]) => asServerUser('pgbackrest', [`--config=${config}`, `--stanza=${STANZA}`, ...args], env);
  const run = (args: string[]) => {
    const c = command(args);
    return execFileSync(c.file, c.args, { env: c.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  return {
    config,
    archivePush: `pgbackrest --config=${config} --stanza=${STANZA} archive-push %p`,
    command,
    createStanza: () => void run(['stanza-create']),
    newestBackup() {
      const [info] = JSON.parse(run(['info', '--output=json'])) as { backup: { label: string; archive: { start: string } }[] }[];
      const newest = info?.backup.at(-1);
      if (!newest) throw new Error('pgbackrest info lists no backup of the stanza');
      return { label: newest.label, startSegment: newest.archive.start };
    },
  };
}
