import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli, spawnCli } from '../support/cli.ts';
import { initTestRepo } from '../support/repo.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';
import { fakeDataDir, sha256, silentServer, syntheticSegment } from '../support/wal.ts';

// wal push and wal fetch on their own, on a file repository and on each S3 server: idempotence, refusals,
// verification, exit codes.
const SYSTEM = 7711452911105411229n;
const SEG3 = '000000010000000000000003';
let dir: string;
let pgdata: string;
let seg3: string;

const s3Env = (s3: S3Server) => ({ ...s3.env, PGOPS_S3_ENDPOINT: s3.endpoint, PGOPS_S3_PATH_STYLE: 'true', PGOPS_S3_CHECKSUM: 'when-required' });
const tmpFiles = (d: string) => fs.readdirSync(d).filter((f) => f.startsWith('.pgops-tmp-'));

// Writes a segment file named `name` into its own pg_wal-like folder.
function segmentFile(name: string, seed: string, segno = parseInt(name.slice(16), 16)): string {
  const wal = fs.mkdtempSync(path.join(dir, 'pg_wal-'));
  const file = path.join(wal, name);
  fs.writeFileSync(file, syntheticSegment({ systemId: SYSTEM, timeline: parseInt(name.slice(0, 8), 16), segno, seed }));
  return file;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-walpf-'));
  pgdata = fakeDataDir(SYSTEM);
  seg3 = segmentFile(SEG3, 'original');
});

afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(pgdata, { recursive: true, force: true });
});

describe('wal push and fetch with a file repository', () => {
  beforeAll(() => initTestRepo(`file://${dir}/repo-file`));
  pushAndFetch('file', () => ({ repo: `file://${dir}/repo-file`, env: {} }));
});

describe.each(S3_SERVERS)('wal push and fetch with an s3 repository on $name', ({ name, start }) => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await start();
    Object.assign(process.env, s3.env);
    await initTestRepo(s3.repoUrl('walpf'), s3.options);
  });
  afterAll(() => s3?.stop());
  pushAndFetch(name, () => ({ repo: s3.repoUrl('walpf'), env: s3Env(s3) }));
});

// The tests of one repository; kind names it in the files a test leaves in dir.
function pushAndFetch(kind: string, repoOf: () => { repo: string; env: NodeJS.ProcessEnv }): void {
  it('pushes a segment into wal/<system identifier>/ with a sidecar, and pushing it again is success', async () => {
    const { repo, env } = repoOf();
    const first = await runCli(['wal', 'push', seg3, '--repo', repo, '--json'], env);
    expect(first.exitCode, first.stderr).toBe(0);
    const pushed = jsonData(first.stdout);
    expect(pushed).toMatchObject({ ok: true, name: SEG3, systemIdentifier: String(SYSTEM), again: false });
    expect(pushed.sidecar).toMatchObject({ size: 16 * 1024 * 1024, sha256: sha256(fs.readFileSync(seg3)), compression: 'none', stored: SEG3 });
    if (kind === 'file') {
      const folder = path.join(dir, 'repo-file/wal', String(SYSTEM));
      expect(fs.readdirSync(folder).sort()).toEqual([SEG3, `${SEG3}.json`]);
      // uncompressed, the archived file is the segment itself
      expect(sha256(fs.readFileSync(path.join(folder, SEG3)))).toBe(pushed.sidecar.sha256);
    }
    const again = await runCli(['wal', 'push', seg3, '--repo', repo, '--json'], env);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(jsonData(again.stdout)).toMatchObject({ ok: true, again: true, repaired: false });
  });

  it('refuses a different segment under an archived name, naming both hashes, and overwrites nothing', async () => {
    const { repo, env } = repoOf();
    const other = segmentFile(SEG3, 'impostor');
    const r = await runCli(['wal', 'push', other, '--repo', repo], env);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${SEG3} is already archived in`);
    expect(r.stderr).toContain(`with sha256 ${sha256(fs.readFileSync(seg3))}`);
    expect(r.stderr).toContain(`this file has sha256 ${sha256(fs.readFileSync(other))}`);
    expect(r.stderr).toContain('nothing was overwritten');
    // the archived copy is still the original
    const dest = path.join(dir, `${kind}-after-refusal`);
    const f = await runCli(['wal', 'fetch', SEG3, dest, '--repo', repo, '--system-id', String(SYSTEM)], env);
    expect(f.exitCode, f.stderr).toBe(0);
    expect(sha256(fs.readFileSync(dest))).toBe(sha256(fs.readFileSync(seg3)));
  });

  it('fetches a segment verified into its destination, finding the system from pg_control', async () => {
    const { repo, env } = repoOf();
    const dest = path.join(dir, `${kind}-RECOVERYXLOG`);
    const r = await runCli(['wal', 'fetch', SEG3, dest, '--repo', repo, '--pgdata', pgdata, '--json'], env);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonData(r.stdout)).toMatchObject({ ok: true, found: true, name: SEG3, size: 16 * 1024 * 1024 });
    expect(fs.readFileSync(dest).equals(fs.readFileSync(seg3))).toBe(true);
    expect(tmpFiles(dir)).toEqual([]);
  });

  it('exits 5 for a segment that is not archived and leaves no file', async () => {
    const { repo, env } = repoOf();
    const dest = path.join(dir, `${kind}-missing`);
    const r = await runCli(['wal', 'fetch', '0000000100000000000000FE', dest, '--repo', repo, '--system-id', String(SYSTEM)], env);
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toContain('0000000100000000000000FE is not in');
    expect(fs.existsSync(dest)).toBe(false);
    expect(tmpFiles(dir)).toEqual([]);
  });

  it('exits 3 naming the place when the repository holds no WAL of the system at all (a wrong --repo), and leaves no file', async () => {
    const { repo, env } = repoOf();
    const dest = path.join(dir, `${kind}-wrong-repo`);
    const wrong = `${repo.replace(/\/$/, '')}-typo`;
    const r = await runCli(['wal', 'fetch', SEG3, dest, '--repo', wrong, '--system-id', String(SYSTEM)], env);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`holds no WAL of database system ${SYSTEM}`);
    expect(r.stderr).toContain('check --repo in restore_command');
    expect(fs.existsSync(dest)).toBe(false);
    // the right repository has it
    expect((await runCli(['wal', 'fetch', SEG3, dest, '--repo', repo, '--system-id', String(SYSTEM)], env)).exitCode).toBe(0);
  });

  it.each(['gzip', 'brotli'])('round-trips a %s-compressed segment', async (compression) => {
    const { repo, env } = repoOf();
    const name = compression === 'gzip' ? '000000010000000000000004' : '000000010000000000000005';
    const file = segmentFile(name, compression);
    const r = await runCli(['wal', 'push', file, '--repo', repo, '--wal-compress', compression, '--json'], env);
    expect(r.exitCode, r.stderr).toBe(0);
    const { sidecar } = jsonData(r.stdout);
    expect(sidecar.compression).toBe(compression);
    expect(sidecar.storedSize).toBeLessThan(sidecar.size / 2);
    const dest = path.join(dir, `${kind}-${compression}`);
    const f = await runCli(['wal', 'fetch', name, dest, '--repo', repo, '--system-id', String(SYSTEM)], env);
    expect(f.exitCode, f.stderr).toBe(0);
    expect(fs.readFileSync(dest).equals(fs.readFileSync(file))).toBe(true);
    // the same file pushed uncompressed is still the same file
    expect((await runCli(['wal', 'push', file, '--repo', repo], env)).exitCode).toBe(0);
  });

  it('archives history and backup-label files under the system pg_control names', async () => {
    const { repo, env } = repoOf();
    const wal = fs.mkdtempSync(path.join(dir, 'pg_wal-'));
    const history = path.join(wal, '00000002.history');
    fs.writeFileSync(history, '1\t0/3000060\tno recovery target specified\n');
    const r = await runCli(['wal', 'push', history, '--repo', repo, '--pgdata', pgdata, '--json'], env);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonData(r.stdout).systemIdentifier).toBe(String(SYSTEM));
    const none = await runCli(['wal', 'push', history, '--repo', repo, '--pgdata', dir], env);
    expect(none.exitCode).toBe(3);
    expect(none.stderr).toMatch(/cannot tell which database system 00000002.history belongs to/);
    const dest = path.join(dir, `${kind}-RECOVERYHISTORY`);
    expect((await runCli(['wal', 'fetch', '00000002.history', dest, '--repo', repo, '--system-id', String(SYSTEM)], env)).exitCode).toBe(0);
    expect(fs.readFileSync(dest, 'utf8')).toBe('1\t0/3000060\tno recovery target specified\n');
  });
}

describe('wal push refusals', () => {
  it('refuses a file whose header does not fit its name or size', async () => {
    const repo = `file://${dir}/repo-refusals`;
    await initTestRepo(repo);
    const misnamed = path.join(fs.mkdtempSync(path.join(dir, 'pg_wal-')), '000000010000000000000009');
    fs.writeFileSync(misnamed, syntheticSegment({ systemId: SYSTEM, timeline: 1, segno: 8 }));
    const r = await runCli(['wal', 'push', misnamed, '--repo', repo], {});
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/refusing to archive 000000010000000000000009: its header says it holds WAL from byte 134217728/);
    const short = path.join(fs.mkdtempSync(path.join(dir, 'pg_wal-')), SEG3);
    fs.writeFileSync(short, syntheticSegment({ systemId: SYSTEM, timeline: 1, segno: 3 }).subarray(0, 1024 * 1024));
    expect((await runCli(['wal', 'push', short, '--repo', repo], {})).stderr).toMatch(/it has 1048576 bytes, its header says segments have 16777216/);
    const wrongSystem = await runCli(['wal', 'push', seg3, '--repo', repo, '--system-id', '42'], {});
    expect(wrongSystem.stderr).toMatch(/belongs to database system 7711452911105411229, --system-id says 42/);
    expect((await runCli(['wal', 'push', path.join(dir, 'RECOVERYXLOG'), '--repo', repo], {})).exitCode).toBe(3);
    expect(fs.existsSync(path.join(dir, 'repo-refusals/wal'))).toBe(false);
  });
});

describe('wal fetch integrity', () => {
  it('exits 6 and writes nothing when the archived copy does not match its sidecar', async () => {
    const repoDir = path.join(dir, 'repo-corrupt');
    await initTestRepo(`file://${repoDir}`);
    const push = await runCli(['wal', 'push', seg3, '--repo', `file://${repoDir}`], {});
    expect(push.exitCode, push.stderr).toBe(0);
    const stored = path.join(repoDir, 'wal', String(SYSTEM), SEG3);
    const fd = fs.openSync(stored, 'r+');
    fs.writeSync(fd, Buffer.from('rot'), 0, 3, 5_000_000);
    fs.closeSync(fd);
    const dest = path.join(dir, 'corrupt-dest');
    const r = await runCli(['wal', 'fetch', SEG3, dest, '--repo', `file://${repoDir}`, '--system-id', String(SYSTEM)], {});
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toMatch(/does not match its sidecar: 16777216 bytes with sha256 [0-9a-f]{64}, the sidecar lists 16777216 bytes with sha256/);
    expect(fs.existsSync(dest)).toBe(false);
    expect(tmpFiles(dir)).toEqual([]);
    // a second push of the intact segment is recognised, and does not rewrite the damaged copy silently either
    expect((await runCli(['wal', 'push', seg3, '--repo', `file://${repoDir}`], {})).exitCode).toBe(0);
  });
});

describe('wal push and fetch as PostgreSQL runs them', () => {
  it('exit with the codes PostgreSQL reads through the bin: 0 archived, 5 not found', async () => {
    const repo = `file://${dir}/repo-bin`;
    await initTestRepo(repo);
    const push = await spawnCli(['wal', 'push', seg3, '--repo', repo]);
    expect(push.exitCode, push.all).toBe(0);
    expect(push.stdout).toMatch(new RegExp(`^archived ${SEG3} \\(16\\.0 MB\\) in file://.*/wal/${SYSTEM}/ in \\d+ms$`));
    const missing = await spawnCli(['wal', 'fetch', '000000010000000000000077', path.join(dir, 'bin-missing'), '--repo', repo, '--system-id', String(SYSTEM)]);
    expect(missing.exitCode).toBe(5);
    expect(missing.signal).toBeUndefined();
  });

  it.each(['fetch', 'push'])('%s dies of the signal it was sent, so that PostgreSQL tells it from a failure (recovery stops instead of ending)', async (words) => {
    const silent = await silentServer();
    try {
      const dest = path.join(dir, `signal-${words}`);
      const args = words === 'fetch' ? ['wal', 'fetch', SEG3, dest] : ['wal', 'push', seg3];
      // a server that never answers: only the signal ends the run
      const keys = { AWS_ACCESS_KEY_ID: 'SILENT', AWS_SECRET_ACCESS_KEY: 'SILENT', AWS_REGION: 'us-east-1' };
      const run = spawnCli([...args, '--repo', 's3://b/p', '--s3-endpoint', silent.endpoint, '--s3-path-style', '--system-id', String(SYSTEM)], keys);
      // the run has installed its handlers and waits for an answer that never comes
      await silent.connected;
      run.kill('SIGTERM');
      const r = await run;
      expect(r.signal, r.all).toBe('SIGTERM');
      expect(r.exitCode).toBeUndefined();
      expect(fs.existsSync(dest)).toBe(false);
      expect(tmpFiles(dir)).toEqual([]);
    } finally {
      await silent.close();
    }
  });
});
