import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSearchPath, readTargetConfig } from '../../lib/config.ts';
import { tempDirs } from '../support/temp-dir.ts';

const tempDir = tempDirs('pgops-config-');

// A working folder, a home with ~/.config, an XDG_CONFIG_HOME and a system folder, each able to hold a config whose
// target main names where it came from.
function places() {
  const root = tempDir();
  const dirs = { cwd: path.join(root, 'work'), home: path.join(root, 'home'), xdg: path.join(root, 'xdg'), system: path.join(root, 'etc-pgops') };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  const put = (dir: string, label: string) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'pgops.config.yml'), `targets:\n  main:\n    repo: file:///${label}\n`);
    return path.join(dir, 'pgops.config.yml');
  };
  return { ...dirs, put };
}

describe('where the config file is looked for', () => {
  it('takes the working folder first, then $XDG_CONFIG_HOME/pgops, then /etc/pgops', () => {
    const p = places();
    const search = { cwd: p.cwd, env: { HOME: p.home, XDG_CONFIG_HOME: p.xdg }, systemDir: p.system };
    expect(configSearchPath(search)).toEqual([path.join(p.cwd, 'pgops.config.yml'), path.join(p.xdg, 'pgops', 'pgops.config.yml'), path.join(p.system, 'pgops.config.yml')]);
    const system = p.put(p.system, 'system');
    expect(readTargetConfig(undefined, 'main', search)).toMatchObject({ file: system, values: { repo: 'file:///system' } });
    const user = p.put(path.join(p.xdg, 'pgops'), 'user');
    expect(readTargetConfig(undefined, 'main', search)).toMatchObject({ file: user, values: { repo: 'file:///user' } });
    const here = p.put(p.cwd, 'here');
    expect(readTargetConfig(undefined, 'main', search)).toMatchObject({ file: here, values: { repo: 'file:///here' } });
  });

  it('uses ~/.config when XDG_CONFIG_HOME is unset or relative, as the XDG spec says', () => {
    const p = places();
    const user = p.put(path.join(p.home, '.config', 'pgops'), 'home');
    for (const env of [{ HOME: p.home }, { HOME: p.home, XDG_CONFIG_HOME: 'relative/dir' }]) {
      expect(readTargetConfig(undefined, 'main', { cwd: p.cwd, env, systemDir: p.system })).toMatchObject({ file: user, values: { repo: 'file:///home' } });
    }
  });

  it('reads only --config, then PGOPS_CONFIG, when one names a file', () => {
    const p = places();
    p.put(p.cwd, 'here');
    const named = p.put(path.join(p.home, 'elsewhere'), 'named');
    const byEnv = p.put(path.join(p.home, 'by-env'), 'env');
    const env = { HOME: p.home, PGOPS_CONFIG: byEnv };
    expect(readTargetConfig(named, 'main', { cwd: p.cwd, env, systemDir: p.system }).file).toBe(named);
    expect(readTargetConfig(undefined, 'main', { cwd: p.cwd, env, systemDir: p.system }).file).toBe(byEnv);
    expect(() => readTargetConfig(undefined, 'main', { cwd: p.cwd, env: { PGOPS_CONFIG: path.join(p.home, 'gone.yml') }, systemDir: p.system })).toThrow(/gone.yml \(PGOPS_CONFIG\) does not exist/);
  });

  it('says every place it looked when --target finds no config file', () => {
    const p = places();
    const search = { cwd: p.cwd, env: { HOME: p.home }, systemDir: p.system };
    expect(readTargetConfig(undefined, undefined, search)).toEqual({ values: {}, searched: configSearchPath(search) });
    expect(() => readTargetConfig(undefined, 'main', search)).toThrow(`--target main needs a config file, and none was found: looked for ${configSearchPath(search).join(', ')}`);
  });
});

describe('the config file keys', () => {
  const load = (text: string, target?: string) => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'pgops.config.yml'), text);
    return () => readTargetConfig(undefined, target, { cwd: dir, env: {}, systemDir: dir });
  };
  const hintOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return `${(e as Error).message} | ${(e as { hint?: string }).hint}`;
    }
    return 'no error';
  };

  it('suggests the nearest option for a mistyped key', () => {
    expect(hintOf(load('targets:\n  main:\n    keep_last: 3\n', 'main'))).toMatch(/unknown option "keep_last" in .*targets\.main \| did you mean keep-last\?/);
    expect(hintOf(load('defaults:\n  s3-pathstyle: true\n'))).toMatch(/did you mean s3-path-style\?/);
    expect(hintOf(load('targets:\n  main:\n    retension: { keep-last: 3 }\n', 'main'))).toMatch(/did you mean retention\?/);
  });

  it('suggests defaults or targets for a mistyped section, and leaves x- keys to anchors', () => {
    expect(hintOf(load('target:\n  main: {}\n', 'main'))).toMatch(/unknown section "target" in .* \| did you mean targets\?/);
    expect(load('x-repo: &r file:///r\ntargets:\n  main:\n    repo: *r\n', 'main')().values).toEqual({ repo: 'file:///r' });
  });

  it('refuses a flag that a file must never decide, instead of ignoring it', () => {
    expect(hintOf(load('targets:\n  main:\n    execute: true\n', 'main'))).toMatch(/"execute" in .*targets\.main is never read from a config file \| .*give it on the command line/);
  });
});
