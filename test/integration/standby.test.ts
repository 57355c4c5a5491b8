import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli } from '../support/cli.ts';
import { initTestRepo } from '../support/repo.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { startStandby, waitFor, type Recovered } from '../support/wal.ts';

// A real streaming standby: maintenance refuses it, health reads it, and a backup taken from it restores and
// matches (operators back up from a replica to spare the primary).
let primary: Cluster;
let standby: Recovered;
let repoDir: string;
const DB = 'shop';

beforeAll(async () => {
  primary = await startCluster();
  await primary.query(`CREATE DATABASE ${DB}`);
  primary.psql(
    `CREATE TABLE orders (id bigint PRIMARY KEY, total numeric, placed timestamptz);
     INSERT INTO orders SELECT g, g * 1.5, '2026-11-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 3000) g;
     CREATE MATERIALIZED VIEW daily AS SELECT placed::date AS day, sum(total) AS total FROM orders GROUP BY 1;
     CREATE TABLE events (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);`,
    DB,
  );
  standby = await startStandby(primary);
  await waitFor('the standby to replay the set-up', async () => (await standby.query<{ n: string }>(`SELECT count(*) AS n FROM pg_database WHERE datname = '${DB}'`))[0].n === '1');
  repoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-standby-repo-'));
}, 120_000);

afterAll(async () => {
  await standby?.stop();
  await primary?.stop();
  fs.rmSync(repoDir, { recursive: true, force: true });
});

describe('a streaming standby', () => {
  const onStandby = () => standby.url(DB);

  it.each([
    ['reindex', ['reindex', '--execute']],
    ['analyze', ['analyze', '--execute']],
    ['refresh-matviews', ['refresh-matviews', '--execute']],
    ['idle-cleanup', ['idle-cleanup', '--idle-in-transaction', '10m', '--execute']],
    ['partitions-create', ['partitions', 'create', '--table', 'public.events', '--interval', 'day', '--execute']],
  ])('refuses %s, which changes a database, naming the standby (exit 3)', async (task, args) => {
    const r = await runCli([...args, '--db', onStandby()]);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain('is a standby (in recovery)');
    expect(r.stderr).toContain(`${task} changes a database and runs on the primary only`);
    expect(r.stderr).toContain('point --db at the primary');
  });

  it('runs health there, read-only', async () => {
    const r = await runCli(['health', '--db', onStandby(), '--cache-hit-warning', '0', '--cache-hit-critical', '0', '--json']);
    expect(r.exitCode, r.stderr).not.toBe(3);
    expect(jsonData(r.stdout).line).toMatch(/^PGOPS HEALTH (OK|WARNING|CRITICAL) - /);
  });

  it('backs up from the standby in one snapshot, and the set restores on the primary and passes a drill', async () => {
    const repo = `file://${repoDir}`;
    await initTestRepo(repo);
    const b = await runCli(['backup', '--db', onStandby(), '--repo', repo, '--fingerprint', 'hash', '--json']);
    expect(b.exitCode, b.stderr).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(repoDir, jsonData(b.stdout).manifest), 'utf8'));
    expect(manifest.server.inRecovery).toBe(true);
    expect(manifest.fingerprints.tables.find((t: { name: string }) => t.name === 'orders')).toMatchObject({ rows: 3000 });
    // the drill restores into a scratch database on the primary's server
    const d = await runCli(['drill', '--repo', repo, '--db', DB, '--target', primary.url('postgres'), '--json']);
    expect(d.exitCode, d.stdout + d.stderr).toBe(0);
    const report = jsonData(d.stdout) as { checks: { name: string; status: string; detail?: string }[] };
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(report.checks.map((c) => c.detail)).toContain('3 of 3 tables match (row count and content hash of every column)');
  });
});
