import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli } from '../support/cli.ts';
import { freePort, startCluster, type Cluster } from '../support/cluster.ts';
import { startS3Server, type S3Server } from '../support/s3.ts';
import { tempDirs } from '../support/temp-dir.ts';

// A check that cannot answer says UNKNOWN (exit 3), never CRITICAL: when its query hangs past --timeout (it then
// cancels the query, which would otherwise run on), and when the repository is missing or cannot be reached.
let c: Cluster;
let s3: S3Server;
const tempDir = tempDirs('pgops-checks-unknown-');

// The monitor role finds a schema of slow look-alikes first on its search_path: the check's queries call pg_sleep
// where they would read pg_ls_waldir(), pg_stat_database and pg_inherits, as a server stuck on I/O would keep them.
const SLOW = `
  CREATE ROLE monitor LOGIN;
  GRANT pg_monitor TO monitor;
  CREATE SCHEMA slow;
  GRANT USAGE ON SCHEMA slow TO monitor;
  CREATE FUNCTION slow.pg_ls_waldir(OUT name text, OUT size bigint, OUT modification timestamptz) RETURNS SETOF record
    LANGUAGE sql AS $$ SELECT 'x'::text, 0::bigint, now() FROM pg_sleep(3600) $$;
  CREATE VIEW slow.pg_stat_database AS SELECT d.* FROM pg_catalog.pg_stat_database d, pg_sleep(3600);
  CREATE VIEW slow.pg_inherits AS SELECT i.* FROM pg_catalog.pg_inherits i, pg_sleep(3600);
  GRANT SELECT ON ALL TABLES IN SCHEMA slow TO monitor;
  ALTER ROLE monitor SET search_path = slow, pg_catalog;
  CREATE TABLE events (at timestamptz NOT NULL) PARTITION BY RANGE (at);
  CREATE TABLE events_p2026_11 PARTITION OF events FOR VALUES FROM ('2026-11-01') TO ('2026-12-01');`;

beforeAll(async () => {
  // archiving "works" (archive_command true): the server side of wal check is fine, only its repository is not
  c = await startCluster({ settings: { archive_mode: 'on', archive_command: '/bin/true' } });
  await c.query('CREATE DATABASE shop');
  c.psql(SLOW, 'shop');
  s3 = await startS3Server();
  // the AWS SDK reads its credentials from this process's environment (runCli runs pgops in this process)
  Object.assign(process.env, s3.env);
});

afterAll(async () => {
  await c?.stop();
  await s3?.stop();
  for (const k of Object.keys(s3?.env ?? {})) delete process.env[k];
});

// The sessions of an application still connected: a check that stopped its work leaves none behind.
async function sessionsOf(application: string): Promise<number> {
  const rows = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [application]);
  return rows[0].n;
}

// Polls until no session of the application is left; a generous bound, so that a slow machine is no failure.
async function gone(application: string): Promise<number> {
  let n = await sessionsOf(application);
  for (let i = 0; i < 100 && n > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    n = await sessionsOf(application);
  }
  return n;
}

describe('a check past its --timeout', () => {
  it.each([
    ['wal check', 'pgops wal check', ['wal', 'check'], /^PGOPS WAL UNKNOWN - timed out after 2s\n$/],
    ['health', 'pgops health', ['health'], /^PGOPS HEALTH UNKNOWN - timed out after 2s\n$/],
    ['partitions check', 'pgops partitions-check', ['partitions', 'check', '--table', 'public.events'], /^PGOPS PARTITIONS UNKNOWN - timed out after 2s\n$/],
  ])('%s stops its query and says UNKNOWN, exit 3', async (_name, application, args, line) => {
    const r = await runCli([...args, '--db', c.url('shop', 'monitor'), '-t', '2s']);
    expect(r.stdout, r.stderr).toMatch(line);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('"kind":"timeout"');
    // pg_sleep(3600) would outlive the closed connection: its session ending means the query was cancelled
    expect(await gone(application)).toBe(0);
  });

  it('answers in --json too, saying it timed out', async () => {
    const r = await runCli(['wal', 'check', '--db', c.url('shop', 'monitor'), '--timeout', '2s', '--json']);
    expect(r.exitCode).toBe(3);
    expect(jsonData(r.stdout)).toMatchObject({ status: 'UNKNOWN', exitCode: 3, timedOut: true });
    expect(await gone('pgops wal check')).toBe(0);
  });
});

describe('a missing or unreachable repository', () => {
  const missing = () => `file://${path.join(tempDir(), 'not-mounted')}`;
  const closedEndpoint = async () => ['--repo', 's3://pgops/main', '--s3-endpoint', `http://127.0.0.1:${await freePort()}`, '--s3-path-style', '--s3-max-attempts', '1'];
  const s3env = () => s3.env;

  it('is UNKNOWN for status, not CRITICAL "no complete backup"', async () => {
    const r = await runCli(['status', '--repo', missing()]);
    expect(r.stdout).toMatch(/^PGOPS STATUS UNKNOWN - file:\/\/.*not-mounted is not a pgops repository/);
    expect(r.exitCode).toBe(3);
    const unreachable = await runCli(['status', ...(await closedEndpoint())], s3env());
    expect(unreachable.stdout).toMatch(/^PGOPS STATUS UNKNOWN - cannot reach S3 endpoint http:\/\/127\.0\.0\.1:\d+/);
    expect(unreachable.exitCode).toBe(3);
  });

  it('is UNKNOWN for status on an empty bucket prefix, and CRITICAL once repo init made it a repository', async () => {
    const args = ['--repo', s3.repoUrl('empty'), '--s3-endpoint', s3.endpoint, '--s3-path-style', '--s3-checksum', 'when-required'];
    const before = await runCli(['status', ...args], s3env());
    expect(before.stdout).toMatch(/^PGOPS STATUS UNKNOWN - s3:\/\/.* is not a pgops repository/);
    expect(before.exitCode).toBe(3);
    expect((await runCli(['repo', 'init', ...args], s3env())).exitCode).toBe(0);
    const after = await runCli(['status', ...args], s3env());
    expect(after.stdout).toMatch(/^PGOPS STATUS CRITICAL - \(repository\): no complete backup/);
    expect(after.exitCode).toBe(2);
  });

  it('is UNKNOWN for verify', async () => {
    expect((await runCli(['verify', '--repo', missing()])).exitCode).toBe(3);
    const r = await runCli(['verify', ...(await closedEndpoint())], s3env());
    expect(r.stdout).toMatch(/^PGOPS VERIFY UNKNOWN - cannot reach S3 endpoint/);
    expect(r.exitCode).toBe(3);
  });

  it('makes wal check UNKNOWN when the server side is fine', async () => {
    const r = await runCli(['wal', 'check', '--db', c.url('shop'), '--repo', missing()]);
    expect(r.stdout).toMatch(/^PGOPS WAL UNKNOWN - repository: file:\/\/.*not-mounted is not a pgops repository/);
    expect(r.exitCode).toBe(3);
    const unreachable = await runCli(['wal', 'check', '--db', c.url('shop'), ...(await closedEndpoint())], s3env());
    expect(unreachable.stdout).toMatch(/^PGOPS WAL UNKNOWN - repository: cannot reach S3 endpoint/);
    expect(unreachable.exitCode).toBe(3);
  });
});
