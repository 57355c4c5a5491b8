import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childrenOf, waitFor } from '../support/process.ts';
import { jsonData, runCli, spawnCli } from '../support/cli.ts';
import { freePort, startCluster, type Cluster } from '../support/cluster.ts';
import { initTestRepo } from '../support/repo.ts';

// What must hold when a backup cannot finish: no set that looks complete, no temp files, a clear exit code.
const PASSWORD = 'p@ss:w0rd/ü\\"x';
const USER = 'backup user';
let cluster: Cluster;
let dir: string;
let url: string;

function repoFiles(repo: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(repo, p));
    }
  };
  walk(repo);
  return out.sort();
}

// A session holding ACCESS EXCLUSIVE on a table: pg_dump waits for it right after it starts (locks come first).
async function blockTable(table: string): Promise<pg.Client> {
  const c = new pg.Client({ host: cluster.dir, port: cluster.port, user: 'root', database: 'app' });
  await c.connect();
  await c.query('BEGIN');
  await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return c;
}

async function pgDumpWaiting(): Promise<boolean> {
  const rows = await cluster.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgops' AND wait_event_type = 'Lock'`);
  return rows.length > 0;
}

beforeAll(async () => {
  cluster = await startCluster({ passwordUsers: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-fail-'));
  await cluster.query(`CREATE ROLE "${USER}" LOGIN SUPERUSER PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
  await cluster.query('CREATE DATABASE app');
  cluster.psql(
    `CREATE TABLE small (id int PRIMARY KEY, v text); INSERT INTO small SELECT g, 'v' || g FROM generate_series(1, 100) g;
     CREATE TABLE big (id int, v text); INSERT INTO big SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, 250000) g;`,
    'app',
  );
  url = cluster.url('app', USER, PASSWORD);
});

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('backup under failure', () => {
  it('keeps the password out of pg_dump\'s argv and environment and out of every output', async () => {
    const repo = path.join(dir, 'secret');
    await initTestRepo(`file://${repo}`);
    const blocker = await blockTable('small');
    const run = spawnCli(['backup', '--db', url, '--repo', `file://${repo}`, '--json']);
    try {
      await waitFor('pg_dump to wait on the lock', pgDumpWaiting);
      const dump = childrenOf(run.pid!).find((c) => c.comm === 'pg_dump');
      expect(dump).toBeDefined();
      const cmdline = fs.readFileSync(`/proc/${dump!.pid}/cmdline`, 'utf8');
      const environ = fs.readFileSync(`/proc/${dump!.pid}/environ`, 'utf8');
      expect(cmdline).toContain('--snapshot=');
      expect(cmdline).toContain(USER);
      for (const text of [cmdline, environ]) {
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(encodeURIComponent(PASSWORD));
      }
      expect(environ).toMatch(/PGPASSFILE=/);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    const result = await run;
    expect(result.exitCode).toBe(0);
    expect(result.all).not.toContain(PASSWORD);
    expect(result.all).not.toContain(encodeURIComponent(PASSWORD));
    // the temp pgpass file is gone
    const pgpass = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('pgops-auth-'));
    for (const d of pgpass) expect(fs.readdirSync(path.join(os.tmpdir(), d)).join()).not.toContain('pgpass');
  });

  it('keeps the password out of the error when the login fails', async () => {
    const wrong = cluster.url('app', USER, 'Wr0ng-Secret-9');
    await initTestRepo(`file://${dir}/wrong`);
    const r = await runCli(['backup', '--db', wrong, '--repo', `file://${dir}/wrong`]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('cannot connect');
    expect(r.stderr).not.toContain('Wr0ng-Secret-9');
  });

  it('refuses a second backup of the same database while one runs (exit 4)', async () => {
    const repo = path.join(dir, 'lock');
    await initTestRepo(`file://${repo}`);
    const blocker = await blockTable('small');
    const first = spawnCli(['backup', '--db', url, '--repo', `file://${repo}`]);
    try {
      await waitFor('the first backup to wait on the lock', pgDumpWaiting);
      const second = await runCli(['backup', '--db', url, '--repo', `file://${repo}`]);
      expect(second.exitCode).toBe(4);
      expect(second.stderr).toMatch(/another pgops backup is running on this database \(pid \d+/);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect((await first).exitCode).toBe(0);
    expect(repoFiles(repo).filter((f) => f.endsWith('manifest.json'))).toHaveLength(1);
  });

  it('leaves no set and no temp file when pg_dump is killed mid-stream', async () => {
    const repo = path.join(dir, 'killed');
    await initTestRepo(`file://${repo}`);
    const run = spawnCli(['backup', '--db', url, '--repo', `file://${repo}`, '--compress', '9']);
    const temp = await waitFor('the dump to start streaming', () => repoFiles(repo).find((f) => f.includes('.pgops-tmp-dump') && fs.statSync(path.join(repo, f)).size > 0));
    expect(temp).toBeDefined();
    const dump = await waitFor('pg_dump', () => childrenOf(run.pid!).find((c) => c.comm === 'pg_dump'));
    process.kill(dump.pid, 'SIGKILL');
    const result = await run;
    expect(result.exitCode).toBe(2);
    expect(result.all).toContain('pg_dump was killed by SIGKILL');
    expect(repoFiles(repo)).toEqual(['pgops-repo.json']);
    const list = await runCli(['backups', 'list', '--repo', `file://${repo}`, '--json']);
    expect(jsonData(list.stdout).sets).toEqual([]);
  });

  it('stops pg_dump and removes what it wrote on SIGTERM', async () => {
    const repo = path.join(dir, 'sigterm');
    await initTestRepo(`file://${repo}`);
    const blocker = await blockTable('small');
    const run = spawnCli(['backup', '--db', url, '--repo', `file://${repo}`]);
    let dumpPid = 0;
    try {
      await waitFor('pg_dump to wait on the lock', pgDumpWaiting);
      dumpPid = childrenOf(run.pid!).find((c) => c.comm === 'pg_dump')!.pid;
      await waitFor('globals.sql, dumped while pg_dump waits', () => repoFiles(repo).some((f) => f.endsWith('globals.sql')));
      run.kill('SIGTERM');
      const result = await run;
      expect(result.exitCode).toBe(2);
      expect(result.all).toContain('interrupted by SIGTERM');
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect(fs.existsSync(`/proc/${dumpPid}`)).toBe(false);
    expect(repoFiles(repo)).toEqual(['pgops-repo.json']);
    const left = await cluster.query(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pgops%'`);
    expect(left).toHaveLength(0);
  });

  it('stops pg_dump when someone ends the backup\'s connection', async () => {
    const repo = path.join(dir, 'terminated');
    await initTestRepo(`file://${repo}`);
    const blocker = await blockTable('small');
    const run = spawnCli(['backup', '--db', url, '--repo', `file://${repo}`]);
    try {
      await waitFor('pg_dump to wait on the lock', pgDumpWaiting);
      await cluster.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgops backup'`);
      const result = await run;
      expect(result.exitCode).toBe(2);
      expect(result.all).toContain("the backup's database connection was lost");
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect(repoFiles(repo)).toEqual(['pgops-repo.json']);
  });

  it('gives a clear error for an unreachable S3 endpoint, before dumping anything', async () => {
    const port = await freePort();
    // the AWS SDK's default credential chain reads the process environment
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' });
    const r = await runCli(['backup', '--db', url, '--repo', 's3://nowhere/pgops', '--s3-endpoint', `http://127.0.0.1:${port}`, '--s3-path-style', '--s3-max-attempts', '2'], {
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
    });
    expect(r.stderr).not.toContain('pg_dump');
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`cannot reach S3 endpoint http://127.0.0.1:${port}`);
    expect(r.stderr).toContain('"hint":"check --s3-endpoint');
  });
});
