import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { initTestRepo } from '../support/repo.ts';
import { pgopsCommand, syntheticSegment, switchWal, waitFor } from '../support/wal.ts';
import { mountSmallDisk, unmountSmallDisk } from '../support/tmpfs.ts';

// What archive_command and restore_command write into PostgreSQL's log when the repository (or pg_wal) refuses them:
// one line per failure saying what failed, the path and what to do; never a bare "EACCES ... open" and a stack trace.
const isRoot = process.getuid?.() === 0;
const SYSTEM = 7711452911105411229n;
const SEG = '000000010000000000000003';
let dir: string;
let forbidden: string;
let cluster: Cluster;

// A folder pgops (as the server user) may read but not write: root's when we are root, read-only otherwise.
function readOnlyFolder(name: string): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  fs.chmodSync(d, isRoot ? 0o755 : 0o555);
  return d;
}

// `pgops wal ...` as the server user runs it (archive_command, restore_command), from the bin.
function asServerUser(args: string[]) {
  const argv = [process.execPath, BIN, 'wal', ...args];
  return execa(isRoot ? 'runuser' : argv[0], isRoot ? ['-u', 'postgres', '--', ...argv] : argv.slice(1), { reject: false, cwd: os.tmpdir(), env: { PATH: process.env.PATH }, extendEnv: false });
}

// The lines of a command's stderr, each a JSON log entry (archive_command's stderr is not a terminal).
function entries(stderr: string): Record<string, unknown>[] {
  return stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-walerr-'));
  fs.chmodSync(dir, 0o755);
  // an initialised repository whose folder the server user cannot write into
  forbidden = path.join(dir, 'forbidden');
  await initTestRepo(`file://${forbidden}`);
  fs.chmodSync(path.join(forbidden, 'pgops-repo.json'), 0o644);
  fs.chmodSync(forbidden, isRoot ? 0o755 : 0o555);
  cluster = await startCluster({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: pgopsCommand('push', ['%p', '--repo', `file://${forbidden}`]) } });
});

afterAll(async () => {
  await cluster?.stop();
  fs.chmodSync(forbidden, 0o755);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('archive_command failing', () => {
  it('on a repository it cannot write logs one line: what failed, the path, the hint, and no stack trace', async () => {
    const segment = await switchWal(cluster);
    await waitFor('archive_command to fail', async () => (await cluster.query<{ n: string }>('SELECT failed_count AS n FROM pg_stat_archiver'))[0].n !== '0');
    const [{ id }] = await cluster.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    const log = fs.readFileSync(path.join(cluster.dir, 'server.log'), 'utf8');
    const pushLines = log.split('\n').filter((l) => l.includes('"task":"wal-push"'));
    expect(pushLines.length, log.slice(-3000)).toBeGreaterThan(0);
    for (const line of pushLines) {
      const entry = JSON.parse(line);
      expect(entry).toMatchObject({ level: 'error', kind: 'failed', exitCode: 2 });
      expect(entry.message).toMatch(new RegExp(`^permission denied writing ${forbidden}/wal/${id}/[0-9A-F]{24}$`));
      expect(entry.hint).toContain(`must be able to write into ${forbidden}`);
      expect(entry.stack).toBeUndefined();
    }
    expect(pushLines.some((l) => l.includes(segment))).toBe(true);
    // nothing else of pgops's in the log: no Node stack frames, no bare errno text
    expect(log).not.toMatch(/^\s+at /m);
    expect(log).not.toContain('EACCES');
    expect(log).toMatch(/archive command failed with exit code 2/);
  });
});

describe('wal push and wal fetch refused by the file system, as the server user runs them', () => {
  let repo: string;
  let segment: string;
  beforeAll(async () => {
    // a repository holding one archived segment, readable by everyone
    repo = path.join(dir, 'readable');
    await initTestRepo(`file://${repo}`);
    const wal = fs.mkdtempSync(path.join(dir, 'pg_wal-'));
    segment = path.join(wal, SEG);
    fs.writeFileSync(segment, syntheticSegment({ systemId: SYSTEM, timeline: 1, segno: 3 }));
    const pushed = await runCli(['wal', 'push', segment, '--repo', `file://${repo}`]);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    execFileSync('chmod', ['-R', 'a+rX', repo, wal]);
  });

  it('restore_command writing into a folder it cannot write: one line naming the destination, with a hint', async () => {
    const dest = path.join(readOnlyFolder('pg_wal-ro'), 'RECOVERYXLOG');
    const r = await asServerUser(['fetch', SEG, dest, '--repo', `file://${repo}`, '--system-id', String(SYSTEM)]);
    expect(r.exitCode).toBe(2);
    const [entry, ...more] = entries(r.stderr);
    expect(more).toEqual([]);
    expect(entry.message).toBe(`permission denied writing ${dest}`);
    expect(entry.hint).toContain(`must be able to write into ${path.dirname(dest)}`);
    expect(entry.stack).toBeUndefined();
  });

  // as anyone but root, the file's owner is the reader: only root can make a file the server user may not read
  it.runIf(isRoot)('restore_command reading a repository it may not read: one line naming the file', async () => {
    const sealed = path.join(dir, 'sealed');
    fs.cpSync(repo, sealed, { recursive: true });
    fs.chmodSync(path.join(sealed, 'wal', String(SYSTEM), `${SEG}.json`), 0o600);
    const r = await asServerUser(['fetch', SEG, path.join(dir, 'RECOVERYXLOG'), '--repo', `file://${sealed}`, '--system-id', String(SYSTEM)]);
    expect(r.exitCode).toBe(2);
    const [entry, ...more] = entries(r.stderr);
    expect(more).toEqual([]);
    expect(entry.message).toBe(`permission denied reading ${sealed}/wal/${SYSTEM}/${SEG}.json`);
    expect(entry.stack).toBeUndefined();
  });

  it('archive_command where a file stands in place of a folder of the repository: one line naming that file', async () => {
    const blocked = path.join(dir, 'blocked');
    await initTestRepo(`file://${blocked}`);
    fs.writeFileSync(path.join(blocked, 'wal'), 'not a folder');
    execFileSync('chmod', ['-R', 'a+rwX', blocked]);
    const r = await asServerUser(['push', segment, '--repo', `file://${blocked}`]);
    expect(r.exitCode).toBe(2);
    const [entry, ...more] = entries(r.stderr);
    expect(more).toEqual([]);
    expect(entry.message).toBe(`cannot read ${blocked}/wal/${SYSTEM}/${SEG}.json: ${blocked}/wal is a file, not a folder`);
    expect(entry.hint).toContain(`move ${blocked}/wal aside`);
    expect(entry.stack).toBeUndefined();
  });
});

// A full disk under pg_wal or under the repository: the write fails naming the disk and the final path, leaves no temp
// file, and nothing half-written appears under the final name (PostgreSQL would take it for the file).
describe('wal push and wal fetch on a full disk, as the server user runs them', () => {
  let point: string | undefined;
  let skipped = '';
  let repo: string;
  let segment: string;
  beforeAll(async () => {
    // the segment (16 MB) and a repository holding it, on the roomy disk
    const wal = fs.mkdtempSync(path.join(dir, 'pg_wal-'));
    segment = path.join(wal, SEG);
    fs.writeFileSync(segment, syntheticSegment({ systemId: SYSTEM, timeline: 1, segno: 3 }));
    repo = path.join(dir, 'holds-one');
    await initTestRepo(`file://${repo}`);
    const pushed = await runCli(['wal', 'push', segment, '--repo', `file://${repo}`]);
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    execFileSync('chmod', ['-R', 'a+rX', repo, wal]);
    ({ point, skipped } = mountSmallDisk(dir, '4m', 'the full disk cases', '0777'));
  });
  afterAll(() => unmountSmallDisk({ point, skipped }));
  const leftovers = (folder: string) => fs.readdirSync(folder).filter((n) => n.startsWith('.pgops-tmp-'));

  it('restore_command into a full pg_wal: one line "no space left", no temp file, and the file there as it was', async ({ skip }) => {
    if (!point) return skip(skipped);
    const pgWal = path.join(point, 'pg_wal');
    fs.mkdirSync(pgWal, { mode: 0o777 });
    fs.chmodSync(pgWal, 0o777);
    const dest = path.join(pgWal, 'RECOVERYXLOG');
    // an earlier try's file, which PostgreSQL lets restore_command replace: a failed fetch must not cut it short
    fs.writeFileSync(dest, 'an earlier try', { mode: 0o666 });
    const r = await asServerUser(['fetch', SEG, dest, '--repo', `file://${repo}`, '--system-id', String(SYSTEM)]);
    expect(r.exitCode).toBe(2);
    const [entry, ...more] = entries(r.stderr);
    expect(more).toEqual([]);
    expect(entry.message).toBe(`no space left on the disk of the destination (${dest})`);
    expect(entry.hint).toMatch(/^free space on it/);
    expect(entry.stack).toBeUndefined();
    expect(leftovers(pgWal)).toEqual([]);
    expect(fs.readFileSync(dest, 'utf8')).toBe('an earlier try');
  });

  it('archive_command into a repository on a full disk: one line "no space left", no temp file, neither data object nor sidecar', async ({ skip }) => {
    if (!point) return skip(skipped);
    const full = path.join(point, 'repo');
    await initTestRepo(`file://${full}`);
    execFileSync('chmod', ['-R', 'a+rwX', full]);
    const r = await asServerUser(['push', segment, '--repo', `file://${full}`]);
    expect(r.exitCode, r.stderr).toBe(2);
    const [entry, ...more] = entries(r.stderr);
    expect(more).toEqual([]);
    expect(entry.message).toBe(`no space left on the repository's disk (${full}/wal/${SYSTEM}/${SEG})`);
    expect(entry.hint).toContain('nothing was published');
    expect(entry.stack).toBeUndefined();
    expect(fs.readdirSync(path.join(full, 'wal', String(SYSTEM)))).toEqual([]);
  });
});
