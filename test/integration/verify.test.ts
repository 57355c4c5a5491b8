import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setPrefix } from '../../lib/repo/layout.ts';
import { jsonData, runCli } from '../support/cli.ts';
import { freePort, startCluster, type Cluster } from '../support/cluster.ts';
import { initTestRepo } from '../support/repo.ts';
import type { S3Server } from '../support/s3.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import { baseBackup, pgopsCommand, serverWritableDir, switchWal, waitArchived } from '../support/wal.ts';

// pgops verify re-reads every stored file against its manifest or sidecar, and the WAL's continuity, without
// restoring anything: one cluster archiving into a file repository through pgops wal push, a custom-format and a
// directory-format set, then one fault at a time, each undone before the next test.
const DAY = 86_400_000;
let cluster: Cluster;
let repoDir: string;
let repo: string;
let systemId: string;
let folder: string;
let appId: string;
let shopId: string;
/** the segments archived after the base backup label, in order */
let segments: string[];

const verify = async (extra: string[] = [], now?: () => Date, env: NodeJS.ProcessEnv = {}, url = repo) => {
  const r = await runCli(['verify', '--repo', url, ...extra], env, now);
  const json = await runCli(['verify', '--repo', url, '--json', ...extra], env, now);
  return { ...r, data: jsonData(json.stdout), jsonExit: json.exitCode };
};

// Changes a file for the length of fn, then puts the original back.
async function withDamage(file: string, damage: (original: Buffer) => Buffer | null, fn: () => Promise<void>): Promise<void> {
  const original = fs.readFileSync(file);
  const stat = fs.statSync(file);
  const damaged = damage(original);
  if (damaged === null) fs.rmSync(file);
  else fs.writeFileSync(file, damaged);
  try {
    await fn();
  } finally {
    fs.writeFileSync(file, original);
    fs.utimesSync(file, stat.atime, stat.mtime);
  }
}

const flipByte = (b: Buffer) => {
  const c = Buffer.from(b);
  c[c.length >> 1] ^= 0xff;
  return c;
};

const backup = async (database: string, extra: string[] = []) => {
  const r = await runCli(['backup', '--db', cluster.url(database), '--repo', repo, '--json', ...extra]);
  expect(r.exitCode, r.stderr).toBe(0);
  return jsonData(r.stdout).backupId as string;
};

beforeAll(async () => {
  repoDir = serverWritableDir('pgops-verify-');
  repo = `file://${repoDir}`;
  await initTestRepo(repo);
  // the server's archive_command runs as postgres: it must read pgops-repo.json and write into the folder
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', repoDir]);
  cluster = await startCluster({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: pgopsCommand('push', ['%p', '--repo', repo]) } });
  systemId = (await cluster.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()'))[0].id;
  folder = path.join(repoDir, 'wal', systemId);
  await cluster.query('CREATE DATABASE app');
  await cluster.query('CREATE DATABASE shop');
  await cluster.query(`CREATE TABLE events AS SELECT g AS id, 'event ' || g AS what FROM generate_series(1, 5000) g`, [], 'app');
  for (const t of ['orders', 'items', 'customers']) await cluster.query(`CREATE TABLE ${t} AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g`, [], 'shop');
  appId = await backup('app');
  shopId = await backup('shop', ['--format', 'directory', '--jobs', '2']);
  // a base backup archives its label: the WAL from there on is what a recovery of it needs
  fs.rmSync(baseBackup(cluster), { recursive: true, force: true });
  segments = [];
  for (let i = 0; i < 3; i++) {
    await cluster.query(`INSERT INTO events SELECT g, 'more ' || g FROM generate_series(1, 3000) g`, [], 'app');
    segments.push(await switchWal(cluster));
  }
  await waitArchived(cluster, segments.at(-1)!);
});

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(repoDir, { recursive: true, force: true });
});

describe('pgops verify on a file repository', () => {
  it('is OK on a clean repository, with the counts and perfdata, as text and as JSON', async () => {
    const r = await verify();
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const sidecars = fs.readdirSync(folder).filter((f) => f.endsWith('.json'));
    const manifest = (id: string, db: string) => JSON.parse(fs.readFileSync(path.join(repoDir, setPrefix(db, id), 'manifest.json'), 'utf8'));
    const app = manifest(appId, 'app');
    const shop = manifest(shopId, 'shop');
    expect(shop.files.length).toBeGreaterThan(4);
    const walBytes = fs.readdirSync(folder).filter((f) => !f.endsWith('.json')).reduce((n, f) => n + fs.statSync(path.join(folder, f)).size, 0);
    const files = app.files.length + shop.files.length + sidecars.length;
    const bytes = app.totalSize + shop.totalSize + walBytes;
    const [line, ...rest] = r.stdout.trimEnd().split('\n');
    expect(line).toMatch(new RegExp(`^PGOPS VERIFY OK - ${files} files \\(.*\\) of 2 set\\(s\\) and 1 WAL archive\\(s\\) match their manifests and sidecars; WAL of system ${systemId} continuous from [0-9A-F]{24} to ${segments.at(-1)} \\| 'files'=${files};;;0 'bytes'=${bytes}B;;;0 'seconds'=[\\d.]+s;;;0 'damaged'=0;;0;0 'missing'=0;;0;0 'missing_segments'=0;;;0$`));
    expect(rest.filter((l) => l.startsWith('runbook:'))).toEqual([]);
    expect(rest).toContain(`[OK] ${setPrefix('app', appId)}: ${app.files.length} files match the manifest (custom format)`);
    expect(rest).toContain(`[OK] ${setPrefix('shop', shopId)}: ${shop.files.length} files match the manifest (directory format)`);
    expect(rest.find((l) => l.includes(`wal/${systemId}/: ${sidecars.length} WAL files, continuous from`))).toMatch(/oldest base backup label [0-9A-F]{24}\.[0-9A-F]{8}\.backup\)$/);

    expect(r.jsonExit).toBe(0);
    expect(r.data).toMatchObject({
      status: 'OK',
      exitCode: 0,
      line: expect.stringMatching(/^PGOPS VERIFY OK - /),
      runbook: [],
      repo,
      database: null,
      identity: { present: true, version: 1 },
      counts: { sets: 2, walSystems: 1, files, bytes, damaged: 0, missing: 0, missingSegments: 0, seconds: expect.any(Number) },
      sets: [
        { database: 'shop', backupId: shopId, status: 'complete', files: shop.files.length, problems: 0 },
        { database: 'app', backupId: appId, status: 'complete', files: app.files.length, problems: 0 },
      ].sort((a, b) => b.backupId.localeCompare(a.backupId) || a.database.localeCompare(b.database)),
      bytes,
    });
    expect(r.data.findings.every((f: { level: string }) => f.level === 'OK')).toBe(true);
    expect(Object.keys(r.data.findings[0]).sort()).toEqual(['key', 'kind', 'level', 'text']);
    expect(r.data.wal).toEqual([
      expect.objectContaining({ systemIdentifier: systemId, files: sidecars.length, timelines: [1], segmentSize: 16 * 1024 * 1024, oldestBackupLabel: expect.stringMatching(/\.backup$/), continuity: expect.objectContaining({ last: segments.at(-1), missingCount: 0 }) }),
    ]);
  });

  it('finds a flipped byte in an archived segment and names it (CRITICAL)', async () => {
    const name = segments[1];
    await withDamage(path.join(folder, name), flipByte, async () => {
      const r = await verify();
      expect(r.exitCode, r.stdout).toBe(2);
      expect(r.stdout).toMatch(new RegExp(`^PGOPS VERIFY CRITICAL - 1 damaged of \\d+ files .*: wal/${systemId}/${name} does not match its sidecar: sha256 [0-9a-f]{64} differs from the listed [0-9a-f]{64} \\|.*'damaged'=1;;0;0 'missing'=0;;0;0`));
      expect(r.data.findings.filter((f: { level: string }) => f.level !== 'OK')).toEqual([
        { level: 'CRITICAL', kind: 'damaged', key: `wal/${systemId}/${name}`, text: expect.stringContaining('does not match its sidecar') },
      ]);
      // a damaged archived segment is the WAL archive's step, not a set's
      expect(r.stdout.split('\n')[1]).toBe('runbook: runbooks/verify.md#3-a-damaged-or-missing-wal-file-or-a-gap');
      expect(r.data.runbook).toEqual(['runbooks/verify.md#3-a-damaged-or-missing-wal-file-or-a-gap']);
      // a monitor reads the figures from the run's metrics too
      const metricsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-verify-metrics-'));
      try {
        expect((await verify(['--metrics-dir', metricsDir])).exitCode).toBe(2);
        const prom = fs.readFileSync(path.join(metricsDir, 'pgops_verify.prom'), 'utf8');
        expect(prom).toMatch(/^pgops_verify_damaged\{task="verify",target=""\} 1$/m);
        expect(prom).toMatch(/^pgops_verify_missing\{task="verify",target=""\} 0$/m);
        expect(prom).toMatch(/^pgops_last_exit_code\{task="verify",target=""\} 2$/m);
        expect(Number(/^pgops_verify_files\{[^}]*\} (\d+)$/m.exec(prom)?.[1])).toBe(r.data.counts.files);
      } finally {
        fs.rmSync(metricsDir, { recursive: true, force: true });
      }
    });
  });

  it('finds a flipped byte in a custom-format dump that the listing alone takes for complete', async () => {
    const key = `${setPrefix('app', appId)}dump`;
    await withDamage(path.join(repoDir, key), flipByte, async () => {
      const list = await runCli(['backups', 'list', '--repo', repo, '--db', 'app', '--json']);
      expect(jsonData(list.stdout).sets[0]).toMatchObject({ backupId: appId, status: 'complete' });
      const r = await verify();
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toContain(`[CRITICAL] ${key} does not match its manifest: sha256 `);
      expect(r.data.sets.find((s: { database: string }) => s.database === 'app').problems).toBe(1);
      expect(r.stdout.split('\n')[1]).toBe('runbook: runbooks/verify.md#4-a-damaged-or-missing-file-of-a-backup-set');
      expect(r.data.runbook).toEqual(['runbooks/verify.md#4-a-damaged-or-missing-file-of-a-backup-set']);
    });
  });

  it('finds a truncated globals.sql, naming its size and the listed one', async () => {
    const key = `${setPrefix('app', appId)}globals.sql`;
    const size = fs.statSync(path.join(repoDir, key)).size;
    await withDamage(path.join(repoDir, key), (b) => b.subarray(0, 10), async () => {
      const r = await verify();
      expect(r.exitCode).toBe(2);
      expect(r.data.findings[0]).toEqual({ level: 'CRITICAL', kind: 'damaged', key, text: `${key} has 10 bytes, its manifest lists ${size}` });
      expect(r.data.counts).toMatchObject({ damaged: 1, missing: 0 });
    });
  });

  it('finds a deleted file of a directory-format dump (missing)', async () => {
    const dir = path.join(repoDir, setPrefix('shop', shopId), 'dump');
    const dat = fs.readdirSync(dir).find((f) => /^\d+\.dat/.test(f))!;
    const key = `${setPrefix('shop', shopId)}dump/${dat}`;
    await withDamage(path.join(dir, dat), () => null, async () => {
      const r = await verify();
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toMatch(new RegExp(`^PGOPS VERIFY CRITICAL - 1 missing of .*: ${key.replace(/\./g, '\\.')} is missing \\(listed in its manifest\\)`));
      expect(r.data.findings[0]).toMatchObject({ level: 'CRITICAL', kind: 'missing', key });
      expect(r.data.counts).toMatchObject({ damaged: 0, missing: 1 });
    });
  });

  it('finds a segment missing from the archive after the base backup label: a gap a backup needs (CRITICAL)', async () => {
    const name = segments[1];
    await withDamage(path.join(folder, `${name}.json`), () => null, async () => {
      await withDamage(path.join(folder, name), () => null, async () => {
        const r = await verify();
        expect(r.exitCode).toBe(2);
        expect(r.data.counts.missingSegments).toBe(1);
        expect(r.data.findings[0]).toMatchObject({ level: 'CRITICAL', kind: 'wal', key: `wal/${systemId}/${name}`, text: expect.stringMatching(new RegExp(`wal/${systemId}/: WAL ${name} is missing: base backups from [0-9A-F.]+backup on cannot be recovered past it$`)) });
        expect(r.stdout).toMatch(/'missing_segments'=1;;;0$/m);
        expect(r.data.runbook).toEqual(['runbooks/verify.md#3-a-damaged-or-missing-wal-file-or-a-gap']);
      });
    });
  });

  it('finds a sidecar whose data object is gone (missing)', async () => {
    const name = segments[0];
    await withDamage(path.join(folder, name), () => null, async () => {
      const r = await verify();
      expect(r.exitCode).toBe(2);
      // named twice: the data object its sidecar vouches for is missing, and so the archive has a gap there
      expect(r.data.findings.filter((f: { level: string }) => f.level !== 'OK')).toEqual([
        { level: 'CRITICAL', kind: 'missing', key: `wal/${systemId}/${name}`, text: expect.stringContaining(`fetch and recovery fail at ${name}`) },
        { level: 'CRITICAL', kind: 'wal', key: `wal/${systemId}/${name}`, text: expect.stringContaining(`WAL ${name} is missing: base backups from`) },
      ]);
      expect(r.data.counts).toMatchObject({ missing: 1, missingSegments: 1 });
    });
  });

  it('--db limits the check to one database (and the WAL of its server)', async () => {
    const dir = path.join(repoDir, setPrefix('shop', shopId), 'dump');
    await withDamage(path.join(dir, 'toc.dat'), flipByte, async () => {
      const app = await verify(['--db', 'app']);
      expect(app.exitCode, app.stdout).toBe(0);
      expect(app.data.database).toBe('app');
      expect(app.data.sets.map((s: { database: string }) => s.database)).toEqual(['app']);
      expect(app.data.counts.walSystems).toBe(1);
      expect(app.stdout).not.toContain('shop');
      const shop = await verify(['--db', cluster.url('shop')]);
      expect(shop.exitCode).toBe(2);
      expect(shop.data.findings[0]).toMatchObject({ level: 'CRITICAL', kind: 'damaged', key: `${setPrefix('shop', shopId)}dump/toc.dat` });
    });
    const none = await verify(['--db', 'nosuch']);
    expect(none.exitCode).toBe(3);
    expect(none.stdout).toBe(`PGOPS VERIFY UNKNOWN - no backup set of database "nosuch" in ${repo}\n`);
  });

  it('warns of leftovers once they are a day old: an incomplete set, a temp file, a WAL file without sidecar', async () => {
    const incomplete = path.join(repoDir, 'backups', 'app', '20200101T000000Z');
    fs.mkdirSync(incomplete, { recursive: true });
    fs.writeFileSync(path.join(incomplete, 'globals.sql'), '-- roles\n');
    const temp = path.join(repoDir, setPrefix('app', appId), '.pgops-tmp-dump-1-abcd');
    fs.writeFileSync(temp, 'partial');
    const orphan = path.join(folder, '0000000100000000000000F0');
    fs.writeFileSync(orphan, 'half a push');
    try {
      const fresh = await verify();
      expect(fresh.exitCode, fresh.stdout).toBe(0);
      const later = await verify([], () => new Date(Date.now() + 2 * DAY));
      expect(later.exitCode, later.stdout).toBe(1);
      expect(later.stdout).toMatch(/^PGOPS VERIFY WARNING - /);
      const warnings = later.data.findings.filter((f: { level: string }) => f.level === 'WARNING').map((f: { kind: string; key: string }) => [f.kind, f.key]);
      expect(warnings).toEqual([
        ['incomplete', 'backups/app/20200101T000000Z/'],
        ['temp', `${setPrefix('app', appId)}.pgops-tmp-dump-1-abcd`],
        ['orphan', `wal/${systemId}/0000000100000000000000F0`],
      ]);
      expect(later.stdout).toContain(`[WARNING] wal/${systemId}/0000000100000000000000F0 has no sidecar (untouched for 2d00h)`);
      // the incomplete set's page first (its key sorts first), then the leftovers' step, each once
      expect(later.stdout.split('\n').slice(1, 3)).toEqual(['runbook: runbooks/backup-failed.md', 'runbook: runbooks/verify.md#5-leftovers-warning']);
      expect(later.data.runbook).toEqual(['runbooks/backup-failed.md', 'runbooks/verify.md#5-leftovers-warning']);
      expect(fresh.data.runbook).toEqual([]);
    } finally {
      fs.rmSync(incomplete, { recursive: true, force: true });
      fs.rmSync(temp, { force: true });
      fs.rmSync(orphan, { force: true });
    }
  });

  it('verifies a repository without pgops-repo.json all the same, and says so', async () => {
    const file = path.join(repoDir, 'pgops-repo.json');
    await withDamage(file, () => null, async () => {
      const r = await verify();
      expect(r.exitCode, r.stdout).toBe(0);
      expect(r.data.identity).toEqual({ present: false, version: null });
      expect(r.stdout).toContain(`[OK] ${repo} has no pgops-repo.json: verified all the same (verify only reads), but writers refuse it until pgops repo init --repo ${repo} adopts it`);
    });
  });

  it('is UNKNOWN when the location holds nothing (a typo in --repo)', async () => {
    const empty = await verify([], undefined, {}, `${repo}-typo`);
    expect(empty.exitCode).toBe(3);
    expect(empty.stdout).toBe(`PGOPS VERIFY UNKNOWN - ${repo}-typo is not a pgops repository (no pgops-repo.json, no backup sets, no WAL)\n`);
    // UNKNOWN names no page: the HINT on stderr says what to fix
    expect(empty.data).toEqual({ status: 'UNKNOWN', exitCode: 3, line: empty.stdout.trimEnd(), runbook: [], findings: [] });
  });
});

describe.each(S3_SERVERS)('pgops verify on an S3 repository ($name)', ({ start }) => {
  let s3: S3Server;
  let url: string;
  let backupId: string;
  const PREFIX = 'verify';
  const env = () => ({ ...s3.env, PGOPS_S3_ENDPOINT: s3.endpoint, PGOPS_S3_PATH_STYLE: 'true', PGOPS_S3_CHECKSUM: 'when-required' });
  // the bucket as someone else sees it: objects changed behind pgops's back
  const client = () =>
    new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: s3.env.AWS_REGION, credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID, secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const put = async (key: string, body: Buffer) => {
    await client().send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${key}`, Body: body }));
  };
  const get = async (key: string) => Buffer.from(await (await client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${key}` }))).Body!.transformToByteArray());

  beforeAll(async () => {
    s3 = await start();
    // the AWS SDK's default credential chain reads the process environment
    Object.assign(process.env, s3.env);
    url = s3.repoUrl(PREFIX);
    await initTestRepo(url, s3.options);
    const b = await runCli(['backup', '--db', cluster.url('app'), '--repo', url, '--json'], env());
    expect(b.exitCode, b.stderr).toBe(0);
    backupId = jsonData(b.stdout).backupId;
    // two archived segments, pushed again compressed: their sidecars list the uncompressed sha256
    for (const name of segments.slice(0, 2)) {
      const p = await runCli(['wal', 'push', path.join(folder, name), '--repo', url, '--wal-compress', 'gzip'], env());
      expect(p.exitCode, p.stderr).toBe(0);
    }
  }, 120_000);

  afterAll(async () => {
    await s3?.stop();
  });

  it('is OK on a clean repository, decompressing WAL to hash it, then names a damaged dump and a damaged compressed segment', async () => {
    const clean = await verify([], undefined, env(), url);
    expect(clean.exitCode, clean.stdout + clean.stderr).toBe(0);
    expect(clean.data.counts).toMatchObject({ sets: 1, walSystems: 1, files: 4, damaged: 0, missing: 0 });
    expect(clean.data.wal[0].continuity).toMatchObject({ first: segments[0], last: segments[1], missingCount: 0 });

    const dumpKey = `${setPrefix('app', backupId)}dump`;
    const gz = `wal/${systemId}/${segments[1]}.gz`;
    await put(dumpKey, flipByte(await get(dumpKey)));
    // a byte of the compressed stream flipped: gzip's CRC, or the sha256 of what it decompresses to, gives it away
    await put(gz, flipByte(await get(gz)));
    const r = await verify([], undefined, env(), url);
    expect(r.exitCode, r.stdout).toBe(2);
    const bad = r.data.findings.filter((f: { level: string }) => f.level === 'CRITICAL').map((f: { key: string }) => f.key);
    expect(bad).toEqual([dumpKey, gz]);
    expect(r.stdout).toContain(`[CRITICAL] ${dumpKey} does not match its manifest: sha256 `);
    expect(r.stdout).toMatch(new RegExp(`\\[CRITICAL\\] ${gz.replace(/\./g, '\\.')} (does not match its sidecar|has \\d+ bytes stored)`));
  });

  it('is UNKNOWN when the store cannot be reached', async () => {
    const port = await freePort();
    const down = await verify([], undefined, { ...env(), PGOPS_S3_ENDPOINT: `http://127.0.0.1:${port}`, PGOPS_S3_MAX_ATTEMPTS: '1' }, url);
    expect(down.exitCode).toBe(3);
    expect(down.stdout).toMatch(new RegExp(`^PGOPS VERIFY UNKNOWN - .*127\\.0\\.0\\.1:${port}`));
    expect(down.data).toMatchObject({ status: 'UNKNOWN', exitCode: 3 });
  });
});

