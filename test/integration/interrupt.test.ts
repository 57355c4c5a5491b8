import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { initTestRepo } from '../support/repo.ts';

// SIGTERM and SIGINT stop any task at any point, as cron, systemd and an engineer's ^C send them; and start-up never
// spends unbounded time on a config file. Each run is its own pgops process.
let c: Cluster;
let dir: string;
let repo: string;

beforeAll(async () => {
  c = await startCluster();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-interrupt-'));
  repo = `file://${path.join(dir, 'repo')}`;
  await initTestRepo(repo);
  c.psql('CREATE DATABASE shop;');
  c.psql('CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 1000);', 'shop');
});

afterAll(async () => {
  await c?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Resolves once the stream has printed text matching re (a generous deadline; the process may take its time).
function output(stream: Readable, re: RegExp): Promise<void> {
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no output matching ${re} within 60s:\n${text}`)), 60_000);
    stream.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (re.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

// Waits until the query returns a row.
async function until(sql: string, database = 'postgres'): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) if ((await c.query(sql, [], database)).length) return;
  throw new Error(`timed out waiting for: ${sql}`);
}

describe('a config file pgops must not read', () => {
  it('refuses a 1.5 MB config file with exit 3, before parsing it', async () => {
    const file = path.join(dir, 'huge.yml');
    const line = '  t%d:\n    db: postgresql://backup@db1:5432/app\n';
    let text = 'targets:\n';
    for (let i = 0; text.length < 1.5 * 1024 * 1024; i++) text += line.replace('%d', String(i));
    // were it parsed, the error would be about this line instead
    fs.writeFileSync(file, text + '  : [ not yaml\n');
    const size = fs.statSync(file).size;
    const r = await spawnCli(['backups', 'list', '--repo', repo, '--config', file, '--target', 't1']);
    expect(r.exitCode, r.all).toBe(3);
    expect(r.all).toContain(`config file ${file} is 1.5 MB (${size} bytes), over the 1.0 MB limit for a pgops config`);
    expect(r.all).not.toContain('not valid YAML');
  });

  it('refuses a config that is not a regular file (a FIFO would block the read forever)', async () => {
    const fifo = path.join(dir, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await spawnCli(['backups', 'list', '--repo', repo, '--config', fifo]);
    expect(r.exitCode, r.all).toBe(3);
    expect(r.all).toContain(`config file ${fifo} is not a regular file`);
  });
});

describe('SIGTERM', () => {
  it('stops a backup waiting for a lock: exit 2, pg_dump gone, no set committed', async () => {
    const blocker = new pg.Client({ host: '127.0.0.1', port: c.port, user: 'root', database: 'shop', application_name: 'blocker' });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
      const child = spawnCli(['backup', '--db', c.url('shop'), '--repo', repo, '--lock-wait-timeout', '10min', '--log-format', 'json']);
      await until(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pgops%' AND wait_event_type = 'Lock'`);
      child.kill('SIGTERM');
      const r = await child;
      expect(r.exitCode, r.all).toBe(2);
      const failed = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.kind === 'failed');
      expect(failed).toMatchObject({ message: 'interrupted by SIGTERM', exitCode: 2 });
      expect(r.stderr).not.toContain('"kind":"abandoned"');
      expect(await c.query(`SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'pgops%'`)).toEqual([]);
      const sets = path.join(dir, 'repo', 'backups', 'shop');
      const manifests = fs.existsSync(sets) ? fs.readdirSync(sets).filter((id) => fs.existsSync(path.join(sets, id, 'manifest.json'))) : [];
      expect(manifests).toEqual([]);
    } finally {
      await blocker.end();
    }
  });

  it('a second SIGTERM abandons a step that does not honour the first, naming what was still running', async () => {
    // a monitor endpoint that accepts the start ping and never answers
    const sockets: net.Socket[] = [];
    const blackhole = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(blackhole.address() as net.AddressInfo).port}/ping/abc`;
    try {
      const child = spawnCli(['backups', 'list', '--repo', repo, '--ping-url', url, '--log-format', 'json']);
      const connected = new Promise<void>((resolve) => blackhole.once('connection', () => resolve()));
      await connected;
      const received = output(child.stderr!, /"kind":"signal"/);
      child.kill('SIGTERM');
      await received;
      child.kill('SIGTERM');
      const r = await child;
      expect(r.exitCode, r.all).toBe(2);
      const log = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const abandoned = log.find((e) => e.kind === 'abandoned');
      expect(abandoned?.message).toMatch(/^received SIGTERM again: abandoning backups-list, which was still running \(before its first step; open: .*network connection/);
      expect(log.at(-1)).toMatchObject({ kind: 'failed', exitCode: 2, message: expect.stringMatching(/^interrupted by SIGTERM and abandoned: backups-list did not stop/) });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    }
  });
});
