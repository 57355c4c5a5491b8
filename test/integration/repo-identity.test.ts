import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_FILE } from '../../lib/repo/identity.ts';
import { jsonData, runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import type { S3Server } from '../support/s3.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';

// A repository that knows itself: writers refuse a location without pgops-repo.json (with "did you mean" when a
// repository is a typo away), repo init writes it once and adopts what an older pgops wrote, repo info shows it.
let cluster: Cluster;
let dir: string;

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.query('CREATE DATABASE app');
  await cluster.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) g', [], 'app');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-repoid-'));
});

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});


describe('repository identity', () => {
  it('a backup into a location that was never initialised is refused, naming repo init, and writes nothing', async () => {
    const repo = path.join(dir, 'never');
    const r = await runCli(['backup', '--db', cluster.url('app'), '--repo', `file://${repo}`]);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain(`file://${repo} is not a pgops repository (it has no ${REPO_FILE})`);
    expect(r.stderr).toContain(`pgops repo init --repo file://${repo}`);
    expect(fs.existsSync(path.join(repo, 'backups'))).toBe(false);
  });

  it('repo init writes pgops-repo.json once; a typo of its path is refused with "did you mean"', async () => {
    const repo = path.join(dir, 'backups-main');
    const first = await runCli(['repo', 'init', '--repo', `file://${repo}`, '--json']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(jsonData(first.stdout)).toMatchObject({ ok: true, created: true, identity: { format: 'pgops-repo', version: 1 } });
    const written = JSON.parse(fs.readFileSync(path.join(repo, REPO_FILE), 'utf8'));
    const again = await runCli(['repo', 'init', '--repo', `file://${repo}`]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('is a pgops repository already');
    expect(JSON.parse(fs.readFileSync(path.join(repo, REPO_FILE), 'utf8'))).toEqual(written);

    const typo = await runCli(['backup', '--db', cluster.url('app'), '--repo', `file://${path.join(dir, 'backups-mian')}`]);
    expect(typo.exitCode, typo.stderr).toBe(3);
    expect(typo.stderr).toContain(`did you mean --repo file://${repo}`);
    expect(fs.existsSync(path.join(dir, 'backups-mian', 'backups'))).toBe(false);

    const ok = await runCli(['backup', '--db', cluster.url('app'), '--repo', `file://${repo}`]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const info = await runCli(['repo', 'info', '--repo', `file://${repo}`, '--json']);
    expect(info.exitCode, info.stderr).toBe(0);
    const data = jsonData(info.stdout);
    expect(data.databases).toMatchObject([{ database: 'app', sets: 1, complete: 1 }]);
    expect(data.identity.createdAt).toBe(written.createdAt);
  });

  it('a repository an older pgops wrote is refused until repo init adopts it, sets untouched', async () => {
    const repo = path.join(dir, 'legacy');
    await runCli(['repo', 'init', '--repo', `file://${repo}`]);
    expect((await runCli(['backup', '--db', cluster.url('app'), '--repo', `file://${repo}`])).exitCode).toBe(0);
    fs.rmSync(path.join(repo, REPO_FILE));
    const before = fs.readdirSync(path.join(repo, 'backups/app'));

    const refused = await runCli(['backup', '--db', cluster.url('app'), '--repo', `file://${repo}`]);
    expect(refused.exitCode, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('it holds backup sets written before repositories were initialised');
    const info = await runCli(['repo', 'info', '--repo', `file://${repo}`]);
    expect(info.exitCode, info.stderr).toBe(1);
    expect(info.stdout).toContain(`has no ${REPO_FILE}`);

    const adopt = await runCli(['repo', 'init', '--repo', `file://${repo}`]);
    expect(adopt.exitCode, adopt.stderr).toBe(0);
    expect(adopt.stdout).toContain('adopting the 1 backup set(s) it holds');
    expect(fs.readdirSync(path.join(repo, 'backups/app'))).toEqual(before);
    const list = await runCli(['backups', 'list', '--repo', `file://${repo}`, '--json']);
    expect(jsonData(list.stdout).sets.map((s: { status: string }) => s.status)).toEqual(['complete']);
  });

  it('a repository of a newer format is refused by writers; prune and drill are writers too', async () => {
    const repo = path.join(dir, 'newer');
    await runCli(['repo', 'init', '--repo', `file://${repo}`]);
    const file = path.join(repo, REPO_FILE);
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), version: 2, tool: { name: 'pgops', version: '9.0.0' } }));
    const r = await runCli(['backup', '--db', cluster.url('app'), '--repo', `file://${repo}`]);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain('has format version 2');
    expect(r.stderr).toContain('a newer pgops (9.0.0) initialised it');

    const bare = `file://${path.join(dir, 'bare')}`;
    const prune = await runCli(['prune', '--repo', bare, '--keep-last', '1', '--execute']);
    expect(prune.exitCode, prune.stderr).toBe(3);
    expect(prune.stderr).toContain('is not a pgops repository');
    const drill = await runCli(['drill', '--repo', bare, '--target', cluster.url('postgres')]);
    expect(drill.exitCode, drill.stderr).toBe(3);
    expect(drill.stderr).toContain('is not a pgops repository');
  });

  it('repo info of an empty location is an error, not an empty repository', async () => {
    const r = await runCli(['repo', 'info', '--repo', `file://${path.join(dir, 'nothing-here')}`]);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain('is not a pgops repository (no pgops-repo.json, no backup sets, no WAL)');
  });
});

describe.each(S3_SERVERS)('repository identity on $name', ({ start }) => {
  let s3: S3Server;
  const s3Env = () => ({ ...s3.env, PGOPS_S3_ENDPOINT: s3.endpoint, PGOPS_S3_PATH_STYLE: 'true', PGOPS_S3_CHECKSUM: 'when-required' });
  beforeAll(async () => {
    s3 = await start();
    // the SDK's credential chain reads the process environment
    Object.assign(process.env, s3.env);
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('on S3, repo init records whether the store honours conditional writes, and backups then go through', async () => {
    const url = s3.repoUrl('identity');
    const refused = await runCli(['backup', '--db', cluster.url('app'), '--repo', url], s3Env());
    expect(refused.exitCode, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(`${url} is not a pgops repository`);
    const init = await runCli(['repo', 'init', '--repo', url, '--json'], s3Env());
    const typo = await runCli(['backup', '--db', cluster.url('app'), '--repo', s3.repoUrl('identiyt')], s3Env());
    expect(typo.exitCode, typo.stderr).toBe(3);
    expect(typo.stderr).toContain(`did you mean --repo ${url}`);
    expect(init.exitCode, init.stderr).toBe(0);
    // s3rver ignores If-None-Match, RGW answers 412
    expect(jsonData(init.stdout).identity.conditionalWrites).toBe(s3.capabilities.conditionalWrites);
    const info = await runCli(['repo', 'info', '--repo', url, '--json'], s3Env());
    expect(info.exitCode, info.stderr).toBe(0);
    const ok = await runCli(['backup', '--db', cluster.url('app'), '--repo', url], s3Env());
    expect(ok.exitCode, ok.stderr).toBe(0);
  });
});
