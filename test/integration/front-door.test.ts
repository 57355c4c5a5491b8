import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, type CliResult, jsonData, jsonEnvelope, runCli } from '../support/cli.ts';
import { initTestRepo } from '../support/repo.ts';

// One front door: a command line runs the same code through the bin, a script and a test (lib/cli/dispatch.ts).
const ROOT = new URL('../../', import.meta.url).pathname;
let dir: string;
let repo: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-front-door-'));
  repo = `file://${path.join(dir, 'repo')}`;
  await initTestRepo(repo);
  // an archive of system 7 without the segment asked for: wal fetch's "not archived"
  fs.mkdirSync(path.join(dir, 'repo/wal/7'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'repo/wal/7/00000002.history.json'), '{}');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const env = { PATH: process.env.PATH, HOME: process.env.HOME };

// The same command line three ways: the pgops bin, scripts/<task>.ts, and in this process (what the tests use).
async function threeWays(script: string, words: string[], args: string[]): Promise<CliResult[]> {
  // from the checkout, as the README runs scripts (node resolves --import tsx from the current directory)
  const spawn = async (cmd: string[]) => {
    const r = await execa('node', cmd, { reject: false, env, extendEnv: false, cwd: ROOT });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const bin = await spawn([BIN, ...words, ...args]);
  const viaScript = await spawn(['--import', 'tsx', path.join(ROOT, 'scripts', `${script}.ts`), ...args]);
  const inProcess = await runCli([...words, ...args], { HOME: process.env.HOME });
  return [bin, viaScript, inProcess].map((r) => ({ ...r, stdout: r.stdout.trim(), stderr: r.stderr.trim() }));
}

describe('one front door', () => {
  it('gives a task the same result through the bin, a script and a test', async () => {
    const results = await threeWays('backups-list', ['backups', 'list'], ['--repo', repo, '--json']);
    for (const r of results) {
      expect(r.exitCode).toBe(0);
      expect(jsonData(r.stdout)).toEqual({ repo, sets: [] });
    }
  });

  it('refuses an unknown option the same way through each, with exit 3 and a hint', async () => {
    const results = await threeWays('backups-list', ['backups', 'list'], ['--repo', repo, '--no-such-option']);
    for (const r of results) {
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toBe('pgops: unknown option --no-such-option for pgops backups list\nHINT: see pgops backups list --help');
    }
  });

  it("runs wal fetch through its own entry each way: exit 5 for a file that is not archived", async () => {
    const dest = path.join(dir, 'RECOVERYXLOG');
    const results = await threeWays('wal-fetch', ['wal', 'fetch'], ['000000010000000000000003', dest, '--repo', repo, '--system-id', '7', '--log-format', 'human']);
    for (const r of results) {
      expect(r.exitCode).toBe(5);
      expect(r.stdout).toContain(`000000010000000000000003 is not in ${repo}`);
    }
    expect(fs.existsSync(dest)).toBe(false);
  });
});

describe('how a run prints is an option like any other', () => {
  const configWith = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('prints JSON for PGOPS_JSON=yes, as for --json', async () => {
    const r = await runCli(['backups', 'list', '--repo', repo], { PGOPS_JSON: 'yes' });
    expect(r.exitCode).toBe(0);
    expect(jsonData(r.stdout)).toEqual({ repo, sets: [] });
  });

  it("prints JSON for json: true in the config file's target", async () => {
    const config = configWith('json.yml', `targets:\n  t1:\n    repo: ${repo}\n    json: true\n`);
    const r = await runCli(['backups', 'list', '--config', config, '--target', 't1']);
    expect(r.exitCode).toBe(0);
    expect(jsonData(r.stdout)).toEqual({ repo, sets: [] });
    // and the flag still wins over the file
    const plain = await runCli(['backups', 'list', '--config', config, '--target', 't1'], { PGOPS_JSON: 'no' });
    expect(plain.stdout).toBe(`no backup sets in ${repo}\n`);
  });

  it('logs debug lines for PGOPS_VERBOSE=1', async () => {
    const quiet = await runCli(['backups', 'list', '--repo', repo, '--metrics-dir', dir]);
    expect(quiet.stderr).toBe('');
    const r = await runCli(['backups', 'list', '--repo', repo, '--metrics-dir', dir], { PGOPS_VERBOSE: '1' });
    expect(r.exitCode).toBe(0);
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'debug', kind: 'metrics', message: `wrote ${path.join(dir, 'pgops_backups_list.prom')}` }));
  });

  it('takes log-format from the config file', async () => {
    const config = configWith('human.yml', `defaults:\n  log-format: human\n`);
    const r = await runCli(['repo', 'info', '--repo', `file://${path.join(dir, 'not-a-repo')}`, '--config', config]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/^ERROR: .*\nHINT: /);
    const json = await runCli(['repo', 'info', '--repo', `file://${path.join(dir, 'not-a-repo')}`]);
    expect(JSON.parse(json.stderr.trim().split('\n')[0])).toMatchObject({ level: 'error', task: 'repo-info' });
  });

  it('still prints as asked when another option is invalid', async () => {
    const r = await runCli(['prune', '--repo', repo, '--keep-last', 'many', '--json', '--log-format', 'human']);
    expect(r.exitCode).toBe(3);
    expect(jsonEnvelope(r.stdout)).toMatchObject({ version: 1, task: 'prune', ok: false, exitCode: 3, data: null, error: 'invalid --keep-last "many": expected a whole number of at least 1' });
    expect(r.stderr).toMatch(/^ERROR: invalid --keep-last "many"/);
  });
});
