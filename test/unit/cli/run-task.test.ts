import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.ts';
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
