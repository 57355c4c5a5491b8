import fs from 'node:fs';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { initTestRepo } from '../support/repo.ts';
import { clientFor } from '../support/s3-capabilities.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';
import { baseBackup, pgopsCommand, serverPrivateFile, serverWritableDir, setArchiveCommand, startRecovery, switchWal, waitArchived, waitFor } from '../support/wal.ts';

// One cluster archiving into S3, on each S3 server in turn: endpoint and repository from a config file, credentials
// from a file only the server user reads, so that neither archive_command nor any log line holds the secret.
const PREFIX = 'archive';
let cluster: Cluster;
let conf: string;
let systemId: string;

// Lists the names in the system's WAL folder of the bucket.
async function archivedNames(client: S3Client, bucket: string): Promise<string[]> {
  const folder = `${PREFIX}/wal/${systemId}/`;
  const names: string[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: folder, ContinuationToken: token }));
    for (const o of res.Contents ?? []) names.push(o.Key!.slice(folder.length));
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return names;
}

beforeAll(async () => {
  conf = serverWritableDir('pgops-walconf-');
  // archive_command is set per S3 server below; until then the server keeps its WAL (archive_mode is on).
  // Started before this process gets any S3 credentials in its environment: the server must not inherit them.
  cluster = await startCluster({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: '' } });
  systemId = (await cluster.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()'))[0].id;
  await cluster.query('CREATE TABLE events (id serial PRIMARY KEY, what text NOT NULL)');
});

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(conf, { recursive: true, force: true });
});

describe.each(S3_SERVERS)('WAL archiving into an S3 repository on $name', ({ name, start }) => {
  let s3: S3Server;
  let client: S3Client;
  const config = () => path.join(conf, `pgops-${name}.config.yml`);
  const credentials = () => path.join(conf, `credentials-${name}`);
  const envPrefix = () => `AWS_SHARED_CREDENTIALS_FILE=${credentials()} `;
  const pushCommand = (configFile = config()) => pgopsCommand('push', ['%p', '--config', configFile], envPrefix());
  const s3Env = () => ({ ...s3.env, PGOPS_S3_ENDPOINT: s3.endpoint, PGOPS_S3_PATH_STYLE: 'true', PGOPS_S3_CHECKSUM: 'when-required' });
  const check = async (extra: string[] = [], db = cluster.url()) => {
    const r = await runCli(['wal', 'check', '--db', db, '--repo', s3.repoUrl(PREFIX), '--json', ...extra], s3Env());
    return { ...r, data: jsonData(r.stdout) };
  };

  beforeAll(async () => {
    s3 = await start();
    client = clientFor(s3);
    fs.writeFileSync(config(), `defaults:\n  repo: ${s3.repoUrl(PREFIX)}\n  s3-endpoint: ${s3.endpoint}\n  s3-path-style: true\n  s3-checksum: when-required\n  wal-compress: gzip\n`);
    serverPrivateFile(credentials(), `[default]\naws_access_key_id = ${s3.env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${s3.env.AWS_SECRET_ACCESS_KEY}\n`);
    Object.assign(process.env, s3.env);
    await initTestRepo(s3.repoUrl(PREFIX), s3.options);
    await setArchiveCommand(cluster, pushCommand());
    // the archiver may still finish a segment with the previous command: switch until one lands in this bucket
    await waitFor(`WAL to be archived into ${name}`, async () => {
      const segment = await switchWal(cluster);
      await waitArchived(cluster, segment);
      return (await archivedNames(client, s3.bucket)).some((n) => n.startsWith(segment));
    });
  });

  afterAll(async () => {
    // the next server's suite points the archiver elsewhere; until then it keeps the WAL
    if (cluster) await setArchiveCommand(cluster, '');
    client?.destroy();
    await s3?.stop();
  });

  it('archives generated WAL compressed, is OK from both ends, and --switch succeeds', async () => {
    await cluster.query(`INSERT INTO events (what) SELECT 'row ' || g FROM generate_series(1, 20000) g`);
    let last = '';
    for (let i = 0; i < 3; i++) last = await switchWal(cluster);
    await waitArchived(cluster, last);
    const r = await check(['--switch']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.data.line).toMatch(/^PGOPS WAL OK - /);
    expect(r.data.switch.done).toBe(true);
    expect(r.data.repository.folder).toBe(`${s3.repoUrl(PREFIX)}/wal/${systemId}/`);
    expect(r.data.repository.continuity.missingCount).toBe(0);
    expect(r.data.repository.continuity.expected).toBeGreaterThanOrEqual(3);
    // the secret is in neither the command the server shows nor its log
    const [{ setting }] = await cluster.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = 'archive_command'`);
    expect(setting).not.toContain(s3.env.AWS_SECRET_ACCESS_KEY);
    expect(fs.readFileSync(path.join(cluster.dir, 'server.log'), 'utf8')).not.toContain(s3.env.AWS_SECRET_ACCESS_KEY);
  });

  it('recovers a base backup from S3 through wal fetch', async () => {
    const before = `before the base backup to ${name}`;
    const marker = `marker in ${name}`;
    await cluster.query('INSERT INTO events (what) VALUES ($1)', [before]);
    const base = baseBackup(cluster);
    await cluster.query('INSERT INTO events (what) VALUES ($1)', [marker]);
    await waitArchived(cluster, await switchWal(cluster));
    const recovered = await startRecovery(base, {
      restore_command: pgopsCommand('fetch', ['%f', '%p', '--config', config()], envPrefix()),
      // to the end of the archive: the first segment wal fetch does not find (exit 5) ends recovery normally
      recovery_target_action: 'promote',
      archive_mode: 'off',
    });
    try {
      await waitFor('the recovered server to promote', async () => !(await recovered.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0].r, 60_000);
      expect((await recovered.query<{ what: string }>(`SELECT what FROM events WHERE what IN ('${before}', '${marker}') ORDER BY id`)).map((r) => r.what)).toEqual([before, marker]);
      expect(recovered.log()).toMatch(/restored log file "[0-9A-F]{24}" from archive/);
    } finally {
      await recovered.stop();
    }
  });

  it('is CRITICAL naming a segment deleted from the middle of the bucket', async () => {
    const before = await check(['--wal-window', 'all']);
    expect(before.exitCode, before.stdout).toBe(0);
    const { first, last } = before.data.repository.continuity;
    const folder = `${PREFIX}/wal/${systemId}/`;
    const names = await archivedNames(client, s3.bucket);
    const middle = names.filter((n) => /^00000001[0-9A-F]{16}\.gz$/.test(n)).map((n) => n.slice(0, 24)).filter((n) => n > first && n < last).sort();
    const victim = middle[Math.floor(middle.length / 2)];
    const key = `${folder}${victim}.gz`;
    const saved = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    try {
      const r = await check(['--wal-window', 'all']);
      expect(r.exitCode).toBe(2);
      expect(r.data.line).toContain(`are missing in ${s3.repoUrl(PREFIX)}/wal/${systemId}/: ${victim}`);
      // its sidecar is still there, and fetch says the archive is damaged rather than "not found"
      const fetch = await runCli(['wal', 'fetch', victim, path.join(conf, 'victim'), '--repo', s3.repoUrl(PREFIX), '--system-id', systemId], s3Env());
      expect(fetch.exitCode).toBe(6);
      expect(fetch.stderr).toContain(`${victim} has a sidecar`);
    } finally {
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: saved }));
    }
    expect((await check(['--wal-window', 'all'])).exitCode).toBe(0);
  });

  it('is CRITICAL with the failure count when the S3 endpoint cannot be reached', async () => {
    const broken = path.join(conf, `broken-${name}.yml`);
    fs.writeFileSync(broken, fs.readFileSync(config(), 'utf8').replace(s3.endpoint, 'http://127.0.0.1:9') + '  s3-max-attempts: 1\n');
    await setArchiveCommand(cluster, pushCommand(broken));
    try {
      await switchWal(cluster);
      await waitFor('archive_command to fail', async () => {
        const [a] = await cluster.query<{ failing: boolean }>(`SELECT coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failing FROM pg_stat_archiver`);
        return a.failing;
      });
      const r = await check();
      expect(r.exitCode).toBe(2);
      expect(r.data.line).toMatch(/archiving is failing: \d+ failed attempts since/);
      expect(Number(/'archive_failed'=(\d+)c/.exec(r.data.line)![1])).toBeGreaterThan(0);
      expect(fs.readFileSync(path.join(cluster.dir, 'server.log'), 'utf8')).toContain('cannot reach S3 endpoint http://127.0.0.1:9');
    } finally {
      await setArchiveCommand(cluster, pushCommand());
    }
  });
});
