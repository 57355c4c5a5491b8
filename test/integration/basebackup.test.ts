import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BaseBackupManifest } from '../../lib/repo/basebackup-manifest.ts';
import { parseLsn, parseWalFileName, segmentName, segmentNumber } from '../../lib/wal/names.ts';
import { fileArchive, s3Archive, startArchivingCluster, type ArchiveRepo } from '../support/archiving.ts';
import { jsonData, runCli, spawnCli } from '../support/cli.ts';
import { binDir, startCluster, type Cluster } from '../support/cluster.ts';
import { childrenOf } from '../support/process.ts';
import { initTestRepo } from '../support/repo.ts';
import { clientFor } from '../support/s3-capabilities.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';
import { serverWritableDir, setArchiveCommand, startStandby, switchWal, waitArchived, waitFor, type Recovered } from '../support/wal.ts';

// pgops basebackup against real clusters archiving with pgops wal push: what it stores is pg_basebackup's own tar,
// whole (pg_verifybackup accepts it), with a manifest that says where its WAL starts and stops; broken archiving,
// a missing preflight condition and a second run are refused or fail without leaving anything behind.

const SEGMENT = 16 * 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// The segments first..last (one timeline), as wal fetch would be asked for them.
function segmentsBetween(first: string, last: string): string[] {
  const a = segmentNumber(parseWalFileName(first)!, SEGMENT)!;
  const b = segmentNumber(parseWalFileName(last)!, SEGMENT)!;
  const tl = parseWalFileName(first)!.timeline;
  return Array.from({ length: b - a + 1 }, (_, i) => segmentName(tl, a + i, SEGMENT));
}

// Extracts a tar stream (decompressed by `decompress` when given) into a new folder and runs pg_verifybackup -n
// on it (no WAL parsing: the backup carries none) against the backup_manifest stored beside the tar (an uncompressed
// tar, which pg_basebackup wrote into the repository itself, does not hold it); returns pg_verifybackup's status and
// output.
function verifyTar(file: string, decompress?: string[]): { status: number | null; out: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-bbverify-'));
  if (decompress) execFileSync('sh', ['-c', `${decompress.join(' ')} "$1" | tar -xf - -C "$2"`, 'sh', file, dir]);
  else execFileSync('tar', ['-xf', file, '-C', dir]);
  const r = spawnSync(path.join(binDir(), 'pg_verifybackup'), ['-n', '-m', path.join(path.dirname(file), 'backup_manifest'), dir], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr, dir };
}

// What a run logged on stderr (JSON lines), as people read it: each entry's message and hint, unescaped.
function logged(r: { stderr: string }): string {
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      const e = JSON.parse(l) as { message: string; hint?: string; error?: string };
      return [e.message, e.error, e.hint].filter(Boolean).join('\n');
    })
    .join('\n');
}

function pgBasebackupChildren(): { pid: number; comm: string }[] {
  return childrenOf(process.pid).filter((c) => c.comm === 'pg_basebackup');
}

describe('pgops basebackup into a file repository', () => {
  let archive: ArchiveRepo;
  let cluster: Cluster;
  let systemId: string;
  let root: string;
  const folder = () => path.join(root, 'basebackups', systemId);
  const backupsIn = () => (fs.existsSync(folder()) ? fs.readdirSync(folder()).sort() : []);
  const run = (args: string[]) => runCli(['basebackup', '--db', cluster.url(), '--repo', archive.url, '--json', ...args]);
  const manifestOf = (id: string) => JSON.parse(fs.readFileSync(path.join(folder(), id, 'manifest.json'), 'utf8')) as BaseBackupManifest;

  beforeAll(async () => {
    archive = await fileArchive();
    root = decodeURIComponent(archive.url.slice('file://'.length));
    // full_page_writes on (the harness turns it off): a standby refuses a base backup of WAL written without it
    ({ cluster, systemId } = await startArchivingCluster(archive, { settings: { full_page_writes: 'on' } }));
    cluster.psql(`CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, repeat('n', 200) FROM generate_series(1, 5000) g;`);
  });

  afterAll(async () => {
    await cluster?.stop();
    await archive?.cleanup();
  });

  it('stores base.tar, backup_manifest and a manifest that says where the WAL starts and stops', async () => {
    const r = await run([]);
    expect(r.exitCode, r.stderr).toBe(0);
    const data = jsonData(r.stdout);
    const id: string = data.backupId;
    expect(fs.readdirSync(path.join(folder(), id)).sort()).toEqual(['backup_manifest', 'base.tar', 'manifest.json']);
    const m = manifestOf(id);
    expect(data.manifest).toBe(`basebackups/${systemId}/${id}/manifest.json`);
    const [{ sid }] = await cluster.query<{ sid: string }>('SELECT system_identifier::text AS sid FROM pg_control_system()');
    expect(m).toMatchObject({ format: 'pgops-basebackup-manifest', backupId: id, systemIdentifier: sid, timeline: 1, compression: 'none', server: { inRecovery: false } });
    expect(parseLsn(m.stop.lsn) >= parseLsn(m.start.lsn)).toBe(true);
    expect(m.wal).toEqual({ first: m.start.segment, last: m.stop.segment });
    expect(m.start.segment).toMatch(/^00000001[0-9A-F]{16}$/);
    expect(m.backupLabel).toContain(`START WAL LOCATION: ${m.start.lsn} (file ${m.start.segment})`);
    expect(m.backupLabel).toContain(`LABEL: pgops ${id}`);
    expect(Date.parse(m.start.time)).toBeLessThanOrEqual(Date.parse(m.stop.time));
    expect(r.stderr).toMatch(new RegExp(`base backup ${id} of system ${systemId}: .* start ${m.start.lsn.replace('/', '\\/')}, stop ${m.stop.lsn.replace('/', '\\/')} \\(timeline 1\\), WAL ${m.wal.first}`));
    // every file the manifest lists is stored with its size and sha256; the lease and the scratch folder
    // pg_basebackup wrote into are gone
    expect(m.files.map((f) => f.path)).toEqual(['base.tar', 'backup_manifest']);
    expect(fs.readdirSync(path.join(folder(), id)).sort()).toEqual(['backup_manifest', 'base.tar', 'manifest.json']);
    for (const f of m.files) {
      const bytes = fs.readFileSync(path.join(folder(), id, f.path));
      expect({ path: f.path, size: bytes.length, sha256: sha256(bytes) }).toEqual(f);
    }
    expect(m.tarSize).toBe(m.files[0].size);
    expect(m.totalSize).toBe(m.files[0].size + m.files[1].size);
    // the WAL it needs is archived: every segment first..last has its sidecar (wal fetch can restore it)
    for (const seg of segmentsBetween(m.wal.first, m.wal.last)) expect(fs.existsSync(path.join(root, 'wal', systemId, `${seg}.json`)), seg).toBe(true);
    // the restore point is a record in the server's WAL, named after the backup id
    expect(m.restorePoint?.name).toBe(id);
    expect(fs.readFileSync(path.join(cluster.dir, 'server.log'), 'utf8')).toContain(`restore point "${id}" created at ${m.restorePoint!.lsn}`);
    const [{ seg }] = await cluster.query<{ seg: string }>('SELECT pg_walfile_name($1::pg_lsn) AS seg', [m.restorePoint!.lsn]);
    // the switch flushes the record to disk; pg_waldump then finds it in the segment
    await switchWal(cluster);
    const dump = spawnSync(path.join(binDir(), 'pg_waldump'), ['--rmgr=XLOG', path.join(cluster.dir, 'data', 'pg_wal', seg)], { encoding: 'utf8' });
    expect(dump.stdout).toContain(`RESTORE_POINT ${id}`);
    // the tar is pg_basebackup's own, whole: pg_verifybackup checks every file against its backup_manifest
    const v = verifyTar(path.join(folder(), id, 'base.tar'));
    try {
      expect(v.status, v.out).toBe(0);
      expect(v.out).toContain('backup successfully verified');
    } finally {
      fs.rmSync(v.dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['gzip', 'base.tar.gz', ['zcat']],
    ['zstd', 'base.tar.zst', ['zstd', '-dc']],
  ])('compresses the tar with --compress %s into %s, which decompresses into a tar pg_verifybackup accepts', async (method, name, decompress) => {
    const r = await run(['--compress', method]);
    expect(r.exitCode, r.stderr).toBe(0);
    const id = jsonData(r.stdout).backupId;
    const m = manifestOf(id);
    expect(m.compression).toBe(method === 'gzip' ? 'gzip:1' : 'zstd:3');
    expect(m.files.map((f) => f.path)).toEqual([name, 'backup_manifest']);
    const stored = fs.statSync(path.join(folder(), id, name)).size;
    expect(stored).toBe(m.files[0].size);
    // the data compresses (repeated text): stored smaller than the tar
    expect(stored).toBeLessThan(m.tarSize);
    const v = verifyTar(path.join(folder(), id, name), decompress);
    try {
      expect(v.status, v.out).toBe(0);
    } finally {
      fs.rmSync(v.dir, { recursive: true, force: true });
    }
  });

  it('records --label and --pin in the manifest', async () => {
    const before = Date.now();
    const r = await run(['--label', 'pre-migration-42', '--pin', '30d']);
    expect(r.exitCode, r.stderr).toBe(0);
    const m = manifestOf(jsonData(r.stdout).backupId);
    expect(m.label).toBe('pre-migration-42');
    const pinned = Date.parse(m.pinnedUntil!);
    expect(pinned).toBeGreaterThanOrEqual(before + 30 * 86_400_000);
    expect(pinned).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
  });

  it('refuses a second base backup while one runs (exit 4), naming the holder', async () => {
    const holder = new pg.Client({ connectionString: cluster.url(), application_name: 'the other basebackup' });
    await holder.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtextextended('pgops basebackup', 0))`);
      const before = backupsIn();
      const r = await run([]);
      expect(r.exitCode, r.stderr).toBe(4);
      expect(r.stderr).toContain('another pgops basebackup is running on this database');
      expect(logged(r)).toContain('application "the other basebackup"');
      expect(backupsIn()).toEqual(before);
    } finally {
      await holder.end();
    }
  });

  it('refuses an empty archive_command before writing anything (exit 3)', async () => {
    const [{ command }] = await cluster.query<{ command: string }>(`SELECT setting AS command FROM pg_settings WHERE name = 'archive_command'`);
    const before = backupsIn();
    await setArchiveCommand(cluster, '');
    try {
      const r = await run([]);
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toContain('archive_mode is on but archive_command is empty');
      expect(r.stderr).toContain(`pgops wal push %p --repo ${archive.url}`);
    } finally {
      await setArchiveCommand(cluster, command);
    }
    expect(backupsIn()).toEqual(before);
  });

  it('refuses a repository archive_command does not archive into (exit 3), showing archive_command', async () => {
    const other = await fileArchive();
    try {
      const r = await runCli(['basebackup', '--db', cluster.url(), '--repo', other.url]);
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toContain(`archive_command does not archive into this repository: ${other.url} holds no WAL of system ${systemId}`);
      expect(r.stderr).toContain(`--repo ${archive.url}`);
      expect(fs.readdirSync(path.join(decodeURIComponent(other.url.slice('file://'.length))))).toEqual(['pgops-repo.json']);
    } finally {
      await other.cleanup();
    }
  });

  describe('with archive_command broken', () => {
    let command: string;
    beforeAll(async () => {
      [{ command }] = await cluster.query<{ command: string }>(`SELECT setting AS command FROM pg_settings WHERE name = 'archive_command'`);
      await setArchiveCommand(cluster, 'false');
    });
    afterAll(async () => {
      await setArchiveCommand(cluster, command);
      // the segments that piled up are archived again before the next test's preflight reads pg_stat_archiver
      await waitArchived(cluster, await switchWal(cluster), 60_000);
    });

    it('fails once the server waited --archive-timeout for the stop segment (exit 2), naming it and the archiver, leaving nothing', async () => {
      const before = backupsIn();
      const r = await run(['--archive-timeout', '5s']);
      expect(r.exitCode, r.stderr).toBe(2);
      const stop = /the server waited 5\.0s \(--archive-timeout\) for the base backup's stop segment ([0-9A-F]{24}) to be archived, in vain/.exec(logged(r));
      expect(stop, logged(r)).not.toBeNull();
      expect(r.stderr).toMatch(/pg_stat_archiver: last_failed_wal [0-9A-F]{24}\S* at \S+, failed_count [1-9]/);
      expect(r.stderr).toContain('fix archive_command (pgops wal check names the cause)');
      // the history file the server wrote at the stop names the same segment
      const [{ hist }] = await cluster.query<{ hist: string }>(`SELECT pg_read_file('pg_wal/' || name) AS hist FROM pg_ls_waldir() WHERE name LIKE '%.backup' ORDER BY name DESC LIMIT 1`);
      expect(hist).toContain(`(file ${stop![1]})`);
      // no manifest, no tar, no lease: nothing of it is left, and neither pg_basebackup nor its WAL sender runs
      expect(backupsIn()).toEqual(before);
      expect(pgBasebackupChildren()).toEqual([]);
      await waitFor('the WAL sender to end', async () => (await cluster.query(`SELECT 1 FROM pg_stat_activity WHERE backend_type = 'walsender'`)).length === 0);
    });

    it('refuses to start while pg_stat_archiver says the last attempt failed (exit 3), naming last_failed_wal', async () => {
      const [{ wal }] = await cluster.query<{ wal: string }>('SELECT last_failed_wal AS wal FROM pg_stat_archiver');
      const r = await run([]);
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toContain(`archiving is failing: pg_stat_archiver's last attempt, for ${wal} at `);
      expect(r.stderr).toContain('pgops wal check names the cause');
    });

    // a fresh failure would make the preflight refuse: a base backup is started right after a success
    const afterASuccess = async () => {
      await setArchiveCommand(cluster, command);
      await waitArchived(cluster, await switchWal(cluster), 60_000);
      await setArchiveCommand(cluster, 'false');
    };
    const serverWaits = () => waitFor('the server to wait for archiving', async () => (await cluster.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event = 'BackupWaitWalArchive'`)).length > 0, 60_000);

    it('fails when pg_basebackup dies, naming it, and ends the WAL sender the server would leave waiting', async () => {
      const before = backupsIn();
      await afterASuccess();
      const running = run(['--archive-timeout', '10m']);
      await serverWaits();
      const [child] = pgBasebackupChildren();
      process.kill(child.pid, 'SIGKILL');
      const r = await running;
      expect(r.exitCode, r.stderr).toBe(2);
      expect(logged(r)).toContain('pg_basebackup was killed by SIGKILL');
      expect(backupsIn()).toEqual(before);
      await waitFor('the WAL sender to end', async () => (await cluster.query(`SELECT 1 FROM pg_stat_activity WHERE backend_type = 'walsender'`)).length === 0);
    });

    it('stops on SIGTERM while the server waits for archiving, leaving nothing and no WAL sender', async () => {
      const before = backupsIn();
      await afterASuccess();
      const child = spawnCli(['basebackup', '--db', cluster.url(), '--repo', archive.url, '--archive-timeout', '10m', '--log-format', 'json']);
      try {
        await serverWaits();
        child.kill('SIGTERM');
        const result = await child;
        expect(result.exitCode, result.all).toBe(2);
        expect(result.all).toContain('interrupted by SIGTERM');
      } finally {
        child.kill('SIGKILL');
      }
      expect(backupsIn()).toEqual(before);
      await waitFor('the WAL sender to end', async () => (await cluster.query(`SELECT 1 FROM pg_stat_activity WHERE backend_type = 'walsender'`)).length === 0);
    });
  });

  describe('on a streaming standby', () => {
    let standby: Recovered;
    beforeAll(async () => {
      standby = await startStandby(cluster);
    });
    afterAll(async () => {
      await standby?.stop();
    });

    it('takes the base backup there; its stop segment arrives when the primary switches it', async () => {
      const running = runCli(['basebackup', '--db', standby.url(), '--repo', archive.url, '--json', '--archive-timeout', '2m']);
      let finished = false;
      void running.finally(() => (finished = true));
      // the primary's archiver brings the standby's stop segment once the primary switches segments
      while (!finished) {
        await switchWal(cluster);
        await new Promise((r) => setTimeout(r, 500));
      }
      const r = await running;
      expect(r.exitCode, r.stderr).toBe(0);
      const m = manifestOf(jsonData(r.stdout).backupId);
      expect(m.server.inRecovery).toBe(true);
      expect(m.backupLabel).toContain('BACKUP FROM: standby');
      expect(m.restorePoint).toBeUndefined();
      expect(r.stderr).toContain('no restore point: a standby cannot write WAL');
      for (const seg of segmentsBetween(m.wal.first, m.wal.last)) expect(fs.existsSync(path.join(root, 'wal', systemId, `${seg}.json`)), seg).toBe(true);
      const v = verifyTar(path.join(folder(), m.backupId, 'base.tar'));
      try {
        expect(v.status, v.out).toBe(0);
      } finally {
        fs.rmSync(v.dir, { recursive: true, force: true });
      }
    });
  });
});

describe('pgops basebackup refusals on a cluster that does not archive', () => {
  let cluster: Cluster;
  let repoDir: string;
  let url: string;
  let spcDir: string;

  beforeAll(async () => {
    cluster = await startCluster({ settings: { wal_level: 'replica' } });
    repoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-bbrefuse-'));
    url = `file://${repoDir}`;
    await initTestRepo(url);
    spcDir = serverWritableDir('pgops-spc-');
  });

  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(repoDir, { recursive: true, force: true });
    fs.rmSync(spcDir, { recursive: true, force: true });
  });

  it('refuses archive_mode off (exit 3) with the settings to make, writing nothing', async () => {
    const r = await runCli(['basebackup', '--db', cluster.url(), '--repo', url]);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain('archive_mode is off: a base backup without archived WAL cannot be recovered');
    expect(r.stderr).toContain(`archive_command = 'pgops wal push %p --repo ${url}'`);
    expect(fs.readdirSync(repoDir)).toEqual(['pgops-repo.json']);
  });

  it('refuses a cluster with an extra tablespace (exit 3), naming it and saying why', async () => {
    await cluster.query(`CREATE TABLESPACE archive_space LOCATION '${spcDir}'`);
    try {
      const r = await runCli(['basebackup', '--db', cluster.url(), '--repo', url]);
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toContain(`a tablespace besides pg_default and pg_global: archive_space (${spcDir})`);
      expect(r.stderr).toContain('pg_basebackup can write only one tablespace to stdout');
      expect(r.stderr).toContain('pgBackRest');
      expect(fs.readdirSync(repoDir)).toEqual(['pgops-repo.json']);
    } finally {
      await cluster.query('DROP TABLESPACE archive_space');
    }
  });
});

describe.each(S3_SERVERS)('pgops basebackup into an S3 repository on $name', ({ start }) => {
  let s3: S3Server;
  let archive: ArchiveRepo;
  let cluster: Cluster;
  let systemId: string;
  let client: S3Client;
  const PREFIX = 'bb';

  beforeAll(async () => {
    s3 = await start();
    archive = await s3Archive(s3, PREFIX);
    ({ cluster, systemId } = await startArchivingCluster(archive));
    client = clientFor(s3);
    // pgops runs in this process (runCli): the SDK reads the credentials from process.env, set only once the
    // cluster runs, so that the server (and archive_command) never inherits them
    Object.assign(process.env, s3.env);
  });

  afterAll(async () => {
    for (const k of Object.keys(s3?.env ?? {})) delete process.env[k];
    await cluster?.stop();
    await archive?.cleanup();
    await s3?.stop();
  });

  it('streams one base backup into the bucket, the manifest listing every stored object with its size', async () => {
    const r = await runCli(['basebackup', '--db', cluster.url(), '--repo', archive.url, '--compress', 'gzip', '--json'], archive.env);
    expect(r.exitCode, r.stderr).toBe(0);
    const { backupId, manifest } = jsonData(r.stdout);
    const folder = `${PREFIX}/basebackups/${systemId}/${backupId}/`;
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: folder }));
    const stored = new Map((listed.Contents ?? []).map((o) => [o.Key!.slice(folder.length), o.Size]));
    expect([...stored.keys()].sort()).toEqual(['backup_manifest', 'base.tar.gz', 'manifest.json']);
    expect(manifest).toBe(`basebackups/${systemId}/${backupId}/manifest.json`);
    // the manifest in the bucket lists every other object with the size the bucket holds
    const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: folder + 'manifest.json' }));
    const m = JSON.parse(await got.Body!.transformToString()) as BaseBackupManifest;
    expect(m).toMatchObject({ backupId, systemIdentifier: systemId, compression: 'gzip:1' });
    expect(m.files.map((f) => [f.path, f.size])).toEqual([['base.tar.gz', stored.get('base.tar.gz')], ['backup_manifest', stored.get('backup_manifest')]]);
    expect(m.tarSize).toBeGreaterThan(m.files[0].size);
  });
});
