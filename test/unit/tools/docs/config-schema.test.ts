import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadTargetConfig } from '../../../../lib/config.ts';
import { OPTION_DEFS } from '../../../../lib/options.ts';
import { parseDuration, parseSize } from '../../../../lib/units.ts';
import { configSchema, DURATION_PATTERN, renderConfigSchema, SCHEMA_FILE, SIZE_PATTERN } from '../../../../tools/docs/config-schema.ts';
import { schemaErrors } from '../../../support/json-schema.ts';
import { tempDirs } from '../../../support/temp-dir.ts';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const schema = configSchema();
const check = (yamlText: string) => schemaErrors(schema, parse(yamlText));
const tempDir = tempDirs('pgops-schema-');

describe('the config file JSON Schema', () => {
  it('is committed as generated from the option table (run npm run docs)', () => {
    expect(fs.readFileSync(path.join(ROOT, SCHEMA_FILE), 'utf8')).toBe(renderConfigSchema());
  });

  it('offers every option a file may set, and none that it may not', () => {
    const settings = (schema.definitions as Record<string, { properties: Record<string, unknown> }>).settings.properties;
    for (const def of OPTION_DEFS) expect(Object.hasOwn(settings, def.flag), def.flag).toBe(!def.noConfig);
    expect(settings['keep-last']).toMatchObject({ type: 'integer', minimum: 1 });
    expect(settings['connections-warning']).toMatchObject({ type: 'integer', minimum: 0, maximum: 100, default: 80 });
    expect(settings['format']).toMatchObject({ enum: ['custom', 'directory'], default: 'custom' });
    expect((settings['db'] as { description: string }).description).toContain('env: PGOPS_DB, DATABASE_URL');
  });

  it("accepts the README's example config, which pgops reads too", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const example = /### Config file and targets[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1];
    expect(check(example)).toEqual([]);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'pgops.config.yml'), example);
    expect(loadTargetConfig(undefined, 'main', dir, {})).toMatchObject({ 'keep-last': 7 });
  });

  it('flags what pgops refuses: an unknown key, a bad choice, an out-of-range number, a destructive flag', () => {
    expect(check('targets:\n  main:\n    keep_last: 3\n')).toEqual(['$.targets.main.keep_last: not allowed']);
    expect(check('defaults:\n  format: tar\n')[0]).toMatch(/"tar" is not one of custom, directory/);
    expect(check('targets:\n  main:\n    retention: { keep-last: 0 }\n')[0]).toMatch(/0 is below 1/);
    expect(check('targets:\n  main:\n    execute: true\n')).toEqual(['$.targets.main.execute: not allowed']);
    expect(check('target:\n  main: {}\n')).toEqual(['$.target: not allowed']);
    expect(check('defaults:\n  lock-wait-timeout: soon\n')[0]).toMatch(/does not match/);
  });

  it('accepts lists, anchors, empty targets and both forms of durations and sizes', () => {
    const text = 'x-repo: &repo s3://backups/pgops\ntargets:\n  main:\n    repo: *repo\n    exclude-user: [reporter]\n    idle: 90s\n    s3-part-size: 64MB\n  empty:\n';
    expect(check(text)).toEqual([]);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'pgops.config.yml'), text);
    expect(loadTargetConfig(undefined, 'main', dir, {})).toEqual({ repo: 's3://backups/pgops', 'exclude-user': ['reporter'], idle: '90s', 's3-part-size': '64MB' });
    expect(loadTargetConfig(undefined, 'empty', dir, {})).toEqual({});
    expect(check('defaults:\n  lock-wait-timeout: 300\n  exclude-user: a, b\n')).toEqual([]);
  });

  it("writes durations and sizes as lib/units.ts reads them", () => {
    const duration = new RegExp(DURATION_PATTERN, 'u');
    const size = new RegExp(SIZE_PATTERN, 'u');
    for (const text of ['90s', '5m', '26h', '7d', '1.5h', '250ms', '2w', '10min', '30', ' 5m ', 'soon', '5 minutes', '-1s', '5M', '']) {
      expect(duration.test(text), text).toBe(succeeds(() => parseDuration(text)));
    }
    for (const text of ['512kB', '10MB', '1GB', '2TB', '100', '1.5GB', '10mb', '1KB', '10 MB', 'big', '']) {
      expect(size.test(text), text).toBe(succeeds(() => parseSize(text)));
    }
  });
});

function succeeds(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch {
    return false;
  }
}
