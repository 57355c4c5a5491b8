import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonData, jsonEnvelope, runCli } from '../../support/cli.ts';
import { tempDirs } from '../../support/temp-dir.ts';

const tempDir = tempDirs('pgops-cli-config-');

describe('the config file a run uses', () => {
  it('comes from $XDG_CONFIG_HOME/pgops when the working folder has none, and --verbose says so', async () => {
    const home = tempDir();
    const file = path.join(home, 'xdg', 'pgops', 'pgops.config.yml');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `targets:\n  main:\n    repo: file://${home}/no-repo-here\n`);
    const r = await runCli(['backups', 'list', '--target', 'main', '--verbose'], { HOME: home, XDG_CONFIG_HOME: path.join(home, 'xdg') });
    const entries = r.stderr.trim().split('\n').map((l) => JSON.parse(l));
    expect(entries.find((e) => e.kind === 'config'), r.stderr).toMatchObject({ level: 'debug', message: `config file ${file}`, file });
    // the target's repository was the one looked at
    expect(r.stdout).toContain(`${home}/no-repo-here`);
  });

  it('says a mistyped key and its nearest option, exit 3', async () => {
    const home = tempDir();
    const file = path.join(home, 'pgops.config.yml');
    fs.writeFileSync(file, 'targets:\n  main:\n    rpo: file:///x\n');
    const r = await runCli(['backups', 'list', '--target', 'main'], { HOME: home, PGOPS_CONFIG: file });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(`unknown option \\"rpo\\" in ${file}: targets.main`);
    expect(r.stderr).toContain('did you mean repo?');
  });
});

describe('what --json prints', () => {
  it('is the envelope of the result: repo init succeeds', async () => {
    const repo = `file://${tempDir()}`;
    const r = await runCli(['repo', 'init', '--repo', repo, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const e = jsonEnvelope(r.stdout);
    expect(e).toMatchObject({ version: 1, task: 'repo init', ok: true, exitCode: 0, error: null, hint: null });
    expect(e.data).toMatchObject({ repo, created: true, identity: { format: 'pgops-repo' } });
    expect(jsonData(r.stdout)).toEqual(e.data);
  });

  it('is the envelope of a result that exits non-zero: status of an empty repository is CRITICAL, exit 2, with its data', async () => {
    const repo = `file://${tempDir()}`;
    expect((await runCli(['repo', 'init', '--repo', repo])).exitCode).toBe(0);
    const r = await runCli(['status', '--repo', repo, '--json']);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(jsonEnvelope(r.stdout)).toMatchObject({ version: 1, task: 'status', ok: false, exitCode: 2, error: null, hint: null, data: { status: 'CRITICAL', exitCode: 2 } });
  });

  it('is the envelope of an error: exit 3, no data, the error and its hint, the password masked', async () => {
    const r = await runCli(['backups', 'list', '--repo', 'ftp://backup:s3cret@nowhere/x', '--json']);
    expect(r.exitCode).toBe(3);
    expect(jsonEnvelope(r.stdout)).toEqual({ version: 1, task: 'backups list', ok: false, exitCode: 3, data: null, error: 'unsupported repository URL "ftp://backup:***@nowhere/x"', hint: expect.stringContaining('file:///') });
    expect(r.stdout).not.toContain('s3cret');
    expect(() => jsonData(r.stdout)).toThrow(/no result data \(exit 3: unsupported repository URL/);
  });

  it('is the same envelope from wal push, which has its own entry', async () => {
    const r = await runCli(['wal', 'push', '/nonexistent/000000010000000000000001', '--repo', `file://${tempDir()}`, '--json']);
    expect(r.exitCode).toBe(2);
    expect(jsonEnvelope(r.stdout)).toMatchObject({ version: 1, task: 'wal push', ok: false, exitCode: 2, data: null, error: expect.stringContaining('cannot read /nonexistent/000000010000000000000001') });
  });

  it('is one JSON document and nothing else on stdout', async () => {
    const r = await runCli(['backups', 'list', '--repo', 'ftp://nowhere/x', '--json']);
    expect(r.stdout.endsWith('}\n')).toBe(true);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });
});
