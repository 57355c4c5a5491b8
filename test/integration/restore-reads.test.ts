import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, jsonEnvelope, runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { initTestRepo } from '../support/repo.ts';

// What a restore reads: only files the manifest lists, checked; and the pg_restore it needs, said in the dump's terms.
let c: Cluster;
let dir: string;
let repo: string;

beforeAll(async () => {
  c = await startCluster();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-restore-reads-'));
  repo = `file://${path.join(dir, 'repo')}`;
  await initTestRepo(repo);
  c.psql('CREATE DATABASE shop;');
  c.psql('CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 1000);', 'shop');
});

afterAll(async () => {
  await c?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

// A backup of shop; returns its set folder and its manifest (parsed) and a writer for the edited manifest.
async function backup(...args: string[]) {
  const r = await runCli(['backup', '--db', c.url('shop'), '--repo', repo, '--json', ...args]);
  expect(r.exitCode, r.stderr).toBe(0);
  const out = jsonData(r.stdout);
  const folder = path.join(dir, 'repo', path.dirname(out.manifest));
  const file = path.join(folder, 'manifest.json');
  return { id: out.backupId as string, folder, manifest: JSON.parse(fs.readFileSync(file, 'utf8')), save: (m: unknown) => fs.writeFileSync(file, JSON.stringify(m)) };
}
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('restore of a set made by a newer pg_dump', () => {
  it("names the dump's pg_dump version, not the server's, as what pg_restore must match", async () => {
    const set = await backup();
    // the set as a pg_dump 17.18 would have made it: the archive header's "dumped by" string and the manifest say so
    const dumpFile = path.join(set.folder, 'dump');
    const data = fs.readFileSync(dumpFile);
    const header = data.subarray(0, 200).toString('latin1');
    const byVersion = header.indexOf('15.18', header.indexOf('15.18') + 20);
    expect(byVersion).toBeGreaterThan(0);
    data.write('17', byVersion, 'latin1');
    fs.writeFileSync(dumpFile, data);
    expect(execFileSync('pg_restore', ['-l', dumpFile]).toString()).toMatch(/Dumped by pg_dump version: 17\.18/);
    set.manifest.pgDump.version = '17.18';
    set.manifest.files.find((f: { path: string }) => f.path === 'dump').sha256 = sha256(data);
    set.save(set.manifest);

    const r = await runCli(['restore', '--repo', repo, '--db', 'shop', '--backup', set.id, '--to', c.url('shop_from_17'), '--create', '--json']);
    expect(r.exitCode, r.stderr).toBe(3);
    const error = jsonEnvelope(r.stdout).error as string;
    expect(error).toMatch(/^pg_restore 15\.18 \(.*\) is older than the pg_dump 17\.18 that made the dump \(major version 17\): pg_restore must be at least the dump's pg_dump version$/);
    expect(error).not.toContain("server's");
    expect(await c.query("SELECT 1 FROM pg_database WHERE datname = 'shop_from_17'")).toEqual([]);
  });
});

describe('a local set read in place', () => {
  it('never reads a file the manifest does not list: a dump data file left out of the manifest is not restored from', async () => {
    const set = await backup('--format', 'directory');
    const data = set.manifest.files.filter((f: { path: string }) => /^dump\/\d+\.dat/.test(f.path));
    expect(data.length).toBeGreaterThan(0);
    const hidden = data[0].path as string;
    set.manifest.files = set.manifest.files.filter((f: { path: string }) => f.path !== hidden);
    set.manifest.totalSize -= data[0].size;
    set.save(set.manifest);
    // toc.dat still names the file and it is still in the folder: pg_restore reading the folder in place would use it
    expect(fs.existsSync(path.join(set.folder, hidden))).toBe(true);

    const r = await runCli(['restore', '--repo', repo, '--db', 'shop', '--backup', set.id, '--to', c.url('shop_unlisted'), '--create', '--log-format', 'human']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`the dump's folder holds 1 file(s) the manifest does not list (${hidden}): not read`);
    expect(r.stderr).toMatch(/pg_restore exited with code 1:[\s\S]*could not open input file/);
  });

  it("restores a set whose dump folder holds a stray file from copies of the listed files, and one with a stray file beside the dump in place", async () => {
    const set = await backup('--format', 'directory');
    fs.writeFileSync(path.join(set.folder, 'dump', 'notes.txt'), 'left here by hand\n');
    const r = await runCli(['restore', '--repo', repo, '--db', 'shop', '--backup', set.id, '--to', c.url('shop_stray'), '--create', '--log-format', 'human']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("the dump's folder holds 1 file(s) the manifest does not list (dump/notes.txt): not read");
    expect(await c.query('SELECT count(*)::int AS n FROM orders', [], 'shop_stray')).toEqual([{ n: 1000 }]);

    // pg_restore never opens a file beside the dump (a lease a backup could not remove): read in place, no warning
    fs.rmSync(path.join(set.folder, 'dump', 'notes.txt'));
    fs.writeFileSync(path.join(set.folder, 'lease.json'), '{}\n');
    const beside = await runCli(['restore', '--repo', repo, '--db', 'shop', '--backup', set.id, '--to', c.url('shop_beside'), '--create', '--log-format', 'human']);
    expect(beside.exitCode, beside.stderr).toBe(0);
    expect(beside.stderr).not.toContain('does not list');
  });
});
