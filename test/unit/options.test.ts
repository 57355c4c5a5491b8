import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../support/temp-dir.ts';
import { loadTargetConfig } from '../../lib/config.ts';
import { OPTION_DEFS, optionsFor, resolveOptions } from '../../lib/options.ts';

const tempDir = tempDirs('pgops-cfg-');

function configDir(yaml: string): string {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'pgops.config.yml'), yaml);
  return dir;
}

describe('the option table', () => {
  it('defines every flag once, with a description and at least one task', () => {
    const flags = OPTION_DEFS.map((o) => o.flag);
    expect(new Set(flags).size).toBe(flags.length);
    for (const o of OPTION_DEFS) {
      expect(o.describe.length).toBeGreaterThan(5);
      expect(o.tasks === '*' || o.tasks.length > 0).toBe(true);
      for (const e of o.env ?? []) expect(e).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
  });

  it('resolves flags over environment over config over defaults', () => {
    const config = { 'keep-last': 9, 'keep-daily': 8, 'keep-weekly': 7, repo: 'file:///from/config' };
    const env = { PGOPS_KEEP_DAILY: '5', PGOPS_REPO: 'file:///from/env' };
    const { values, sources } = resolveOptions('prune', { 'keep-daily': '3' }, env, config);
    expect(values.keepDaily).toBe(3);
    expect(sources.keepDaily).toBe('flag');
    expect(values.repo).toBe('file:///from/env');
    expect(values.keepLast).toBe(9);
    expect(sources.keepLast).toBe('config');
    expect(values.keepMonthly).toBe(0);
    expect(sources.keepMonthly).toBe('default');
    expect(values.incompleteGrace).toBe(24 * 3_600_000);
  });

  it('reads DATABASE_URL when PGOPS_DB is not set', () => {
    expect(resolveOptions('backup', {}, { DATABASE_URL: 'postgresql://a@b/c' }).values.db).toBe('postgresql://a@b/c');
    expect(resolveOptions('backup', {}, { DATABASE_URL: 'postgresql://a@b/c', PGOPS_DB: 'postgresql://x@y/z' }).values.db).toBe('postgresql://x@y/z');
  });

  it('never takes --execute, --force or --to from a config file', () => {
    const { values } = resolveOptions('prune', {}, {}, { execute: true });
    expect(values.execute).toBe(false);
    expect(resolveOptions('restore', {}, {}, { force: true, to: 'postgresql://x/y' }).values.force).toBe(false);
  });

  it('names the option and where its bad value came from', () => {
    expect(() => resolveOptions('prune', {}, { PGOPS_KEEP_DAILY: 'many' })).toThrow(/invalid PGOPS_KEEP_DAILY \(environment\) "many": expected a whole number/);
    expect(() => resolveOptions('backup', { format: 'tar' }, {})).toThrow(/invalid --format "tar": expected one of custom, directory/);
    expect(() => resolveOptions('backup', { 'lock-wait-timeout': 'soon' }, {})).toThrow(/invalid --lock-wait-timeout "soon"/);
    expect(() => resolveOptions('backup', {}, { PGOPS_S3_PATH_STYLE: 'maybe' })).toThrow(/expected true or false/);
  });

  it('offers each task only its own options', () => {
    const backup = optionsFor('backup').map((o) => o.flag);
    expect(backup).toContain('format');
    expect(backup).not.toContain('keep-last');
    expect(optionsFor('prune').map((o) => o.flag)).toContain('execute');
  });
});

describe('the config file', () => {
  it('fills a target, folding retention and defaults in', () => {
    const dir = configDir(`defaults:\n  s3-path-style: true\ntargets:\n  main:\n    db: postgresql://backup@db1/app\n    repo: s3://b/p\n    retention:\n      keep-last: 7\n      keep-daily: 14\n`);
    expect(loadTargetConfig(undefined, 'main', dir)).toEqual({ 's3-path-style': true, db: 'postgresql://backup@db1/app', repo: 's3://b/p', 'keep-last': 7, 'keep-daily': 14 });
  });
  it('says which targets exist when one is unknown', () => {
    const dir = configDir(`targets:\n  main: {}\n  reports: {}\n`);
    expect(() => loadTargetConfig(undefined, 'mian', dir)).toThrow(/target "mian" is not in/);
    try {
      loadTargetConfig(undefined, 'mian', dir);
    } catch (e) {
      expect((e as { hint: string }).hint).toBe('known targets: main, reports');
    }
  });
  it('refuses unknown keys and bad YAML', () => {
    expect(() => loadTargetConfig(undefined, 'main', configDir(`targets:\n  main:\n    keep_last: 3\n`))).toThrow(/unknown option "keep_last"/);
    expect(() => loadTargetConfig(undefined, undefined, configDir(`targets: [\n`))).toThrow(/not valid YAML/);
  });
  it('needs a config file for --target, but not otherwise', () => {
    const empty = tempDir();
    expect(loadTargetConfig(undefined, undefined, empty)).toEqual({});
    expect(() => loadTargetConfig(undefined, 'main', empty)).toThrow(/--target main needs a config file/);
    expect(() => loadTargetConfig('nope.yml', undefined, empty)).toThrow(/does not exist/);
  });
});
