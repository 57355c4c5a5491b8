import fs from 'node:fs';
import path from 'node:path';
import { startCluster, type Cluster, type ClusterOptions } from './cluster.ts';
import { initTestRepo } from './repo.ts';
import type { S3Server } from './s3.ts';
import { pgopsCommand, serverPrivateFile, serverWritableDir, switchWal, waitArchived } from './wal.ts';

// A repository that a test cluster archives into with `pgops wal push`, as base backup, recovery and drill tests
// need it: the repository URL, the environment a pgops run against it needs (S3 endpoint and credentials in
// variables, never in argv), and archive_command.
export interface ArchiveRepo {
  url: string;
  /** for runCli/spawnCli: what a pgops run needs to reach the repository (empty for a folder) */
  env: NodeJS.ProcessEnv;
  /** archive_command: `pgops wal push %p ...` as the server user runs it */
  archiveCommand: string;
  /** a folder the test owns (config and credential files, scratch space); removed by cleanup() */
  workDir: string;
  cleanup(): Promise<void>;
}

// A file repository in a folder the server user owns (archive_command writes into it as that user).
export async function fileArchive(): Promise<ArchiveRepo> {
  const workDir = serverWritableDir('pgops-archive-');
  const root = path.join(workDir, 'repo');
  fs.mkdirSync(root);
  fs.chmodSync(root, 0o777);
  const url = `file://${root}`;
  await initTestRepo(url);
  fs.chmodSync(path.join(root, 'pgops-repo.json'), 0o644);
  return {
    url,
    env: {},
    archiveCommand: pgopsCommand('push', ['%p', '--repo', url]),
    workDir,
    cleanup: async () => fs.rmSync(workDir, { recursive: true, force: true }),
  };
}

// A repository under prefix on an S3 server: the server user's archive_command reads endpoint and repository from
// a config file and credentials from a file only it reads; pgops runs of the test get both as variables.
export async function s3Archive(s3: S3Server, prefix: string): Promise<ArchiveRepo> {
  const workDir = serverWritableDir('pgops-archive-s3-');
  const url = s3.repoUrl(prefix);
  const config = path.join(workDir, 'pgops.config.yml');
  fs.writeFileSync(config, `defaults:\n  repo: ${url}\n  s3-endpoint: ${s3.endpoint}\n  s3-path-style: true\n  s3-checksum: when-required\n`);
  const credentials = serverPrivateFile(path.join(workDir, 'credentials'), `[default]\naws_access_key_id = ${s3.env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${s3.env.AWS_SECRET_ACCESS_KEY}\n`);
  // the SDK reads credentials from process.env: set for repo init only, so that a cluster started afterwards does
  // not inherit them (archive_command must get them from its credentials file)
  const saved = Object.fromEntries(Object.keys(s3.env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, s3.env);
  try {
    await initTestRepo(url, s3.options);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return {
    url,
    env: { ...s3.env, PGOPS_S3_ENDPOINT: s3.endpoint, PGOPS_S3_PATH_STYLE: 'true', PGOPS_S3_CHECKSUM: 'when-required' },
    archiveCommand: pgopsCommand('push', ['%p', '--config', config], `AWS_SHARED_CREDENTIALS_FILE=${credentials} `),
    workDir,
    cleanup: async () => fs.rmSync(workDir, { recursive: true, force: true }),
  };
}

// A cluster archiving into the repository with pgops wal push (wal_level replica, archive_mode on), and its system
// identifier; the first switched segment has reached the archive when this resolves.
export async function startArchivingCluster(archive: ArchiveRepo, opts: ClusterOptions = {}): Promise<{ cluster: Cluster; systemId: string }> {
  const cluster = await startCluster({ ...opts, settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archive.archiveCommand, ...opts.settings } });
  const [{ id }] = await cluster.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
  await waitArchived(cluster, await switchWal(cluster));
  return { cluster, systemId: id };
}
