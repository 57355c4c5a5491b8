import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli } from '../support/cli.ts';
import { freePort, startCluster, type Cluster } from '../support/cluster.ts';
import { startHttpSink } from '../support/http-sink.ts';

// Signals that tell a monitor a job ran: metrics (textfile and Pushgateway), healthchecks pings, a webhook.
let sink: Awaited<ReturnType<typeof startHttpSink>>;
let dir: string;
const TOKEN = 'T0KEN-9f8e7d';

beforeAll(async () => {
  sink = await startHttpSink();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-notify-'));
  fs.mkdirSync(path.join(dir, 'repo'));
});
afterAll(async () => {
  await sink.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const env = () => ({
  PGOPS_STATE_DIR: path.join(dir, 'state'),
  PGOPS_PING_URL: `${sink.url}/ping/${TOKEN}`,
  PGOPS_WEBHOOK_URL: `${sink.url}/hooks/${TOKEN}`,
  PGOPS_PUSHGATEWAY_URL: sink.url,
  PGOPS_METRICS_DIR: path.join(dir, 'metrics'),
});
const good = () => ['backups', 'list', '--repo', `file://${path.join(dir, 'repo')}`];
const bad = ['backups', 'list', '--repo', 'ftp://nowhere/x'];

describe('notifications of a run', () => {
  it('pings start and fail, posts the failure, pushes and writes metrics, and never prints the secret URLs', async () => {
    sink.received.length = 0;
    const r = await runCli(bad, env());
    expect(r.exitCode).toBe(3);
    const paths = sink.received.map((x) => `${x.method} ${x.path}`);
    expect(paths).toContain(`POST /ping/${TOKEN}/start`);
    expect(paths).toContain(`POST /ping/${TOKEN}/fail`);
    const hook = sink.received.find((x) => x.path === `/hooks/${TOKEN}`)!;
    expect(JSON.parse(hook.body).text).toMatch(/^:rotating_light: pgops backups-list FAILED on .* \(exit 3, after .*\)\nunsupported repository URL "ftp:\/\/nowhere\/x"/);
    const push = sink.received.find((x) => x.path.startsWith('/metrics/job/pgops'))!;
    // no target (no config target, no --db): the grouping key has none; the metrics carry no labels of their own
    expect(push.path).toBe('/metrics/job/pgops/task/backups-list');
    expect(push.body).toMatch(/^pgops_last_exit_code 3$/m);
    expect(push.body).toMatch(/^pgops_last_success 0$/m);
    expect(push.body).not.toContain('pgops_last_success_timestamp_seconds');
    expect(push.body).not.toContain('instance');
    expect(r.stderr).not.toContain(TOKEN);
  });

  it('posts the first success after a failure, and stays quiet on the next success', async () => {
    sink.received.length = 0;
    const first = await runCli(good(), env());
    expect(first.exitCode).toBe(0);
    const hooks = () => sink.received.filter((x) => x.path === `/hooks/${TOKEN}`);
    expect(hooks()).toHaveLength(1);
    expect(JSON.parse(hooks()[0].body).text).toMatch(/^:white_check_mark: pgops backups-list recovered on /);
    expect(sink.received.map((x) => `${x.method} ${x.path}`)).toContain(`POST /ping/${TOKEN}`);
    const second = await runCli(good(), env());
    expect(second.exitCode).toBe(0);
    expect(hooks()).toHaveLength(1);
  });

  it('writes the textfile atomically with the last success time', async () => {
    const files = fs.readdirSync(path.join(dir, 'metrics'));
    expect(files).toEqual(['pgops_backups_list.prom']);
    const text = fs.readFileSync(path.join(dir, 'metrics', files[0]), 'utf8');
    expect(text).toMatch(/# HELP pgops_last_success_timestamp_seconds /);
    const ts = Number(/pgops_last_success_timestamp_seconds\{task="backups-list",target=""\} ([\d.]+)/.exec(text)![1]);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);
    expect(text).toMatch(/pgops_last_exit_code\{task="backups-list",target=""\} 0/);
    // node_exporter's textfile collector adds its own instance label: pgops's must not collide with it
    expect(text).not.toContain('instance');
  });

  it('keeps the exit code when the monitor cannot be reached', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await runCli(good(), { ...env(), PGOPS_PING_URL: `${closed}/ping/x`, PGOPS_WEBHOOK_URL: `${closed}/hook`, PGOPS_PUSHGATEWAY_URL: closed });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/"level":"warn".*"message":"the ping failed/);
    sink.setStatus(500);
    const failing = await runCli(bad, env());
    sink.setStatus(200);
    expect(failing.exitCode).toBe(3);
    expect(failing.stderr).toMatch(/the ping failed: HTTP 500/);
  });
});

// What a dashboard reads of a target's backups: the figures come from the backup's own result, and a failed run
// keeps the last success's on the dashboard.
describe('the metrics of a backup target', () => {
  let c: Cluster;
  const metrics = () => fs.readFileSync(path.join(dir, 'dash', 'pgops_backup_shop.prom'), 'utf8');
  const value = (text: string, name: string) => Number(new RegExp(`^${name}\\{task="backup",target="shop"\\} ([\\d.e+]+)$`, 'm').exec(text)?.[1]);
  beforeAll(async () => {
    c = await startCluster();
    await c.query('CREATE DATABASE shop');
    c.psql('CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g', 'shop');
    expect((await runCli(['repo', 'init', '--repo', `file://${path.join(dir, 'repo')}`])).exitCode).toBe(0);
  });
  afterAll(async () => {
    await c?.stop();
  });
  const backup = (db: string) => runCli(['backup', '--db', db, '--repo', `file://${path.join(dir, 'repo')}`, '--json'], { PGOPS_STATE_DIR: path.join(dir, 'dash-state'), PGOPS_METRICS_DIR: path.join(dir, 'dash') });

  it("exports the set's size, duration and snapshot time, and keeps them through a failed run", async () => {
    const ok = await backup(c.url('shop'));
    expect(ok.exitCode, ok.stderr).toBe(0);
    const result = jsonData(ok.stdout);
    const text = metrics();
    expect(value(text, 'pgops_backup_size_bytes')).toBe(result.bytes);
    expect(value(text, 'pgops_backup_duration_seconds')).toBe(result.durationMs / 1000);
    expect(value(text, 'pgops_backup_timestamp_seconds')).toBe(Date.parse(result.snapshot.time) / 1000);
    expect(text).not.toContain('instance');
    // the same target (database shop) on a server that is not there: the run fails, the dashboard keeps the set
    const failed = await backup(`postgresql://root@127.0.0.1:${await freePort()}/shop`);
    expect(failed.exitCode).not.toBe(0);
    const after = metrics();
    expect(value(after, 'pgops_last_success')).toBe(0);
    expect(value(after, 'pgops_backup_size_bytes')).toBe(result.bytes);
    expect(value(after, 'pgops_backup_timestamp_seconds')).toBe(Date.parse(result.snapshot.time) / 1000);
  });
});
