import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { usageError } from './errors.ts';
import { OPTIONS } from './options.ts';

export const DEFAULT_CONFIG_FILE = 'pgops.config.yml';

// The settings of one target from pgops.config.yml, keyed by flag name; `retention:` is folded in.
//
//   defaults:            # every target starts from these
//     s3-path-style: true
//   targets:
//     main:
//       db: postgresql://backup@db1:5432/app
//       repo: s3://backups/pgops
//       retention: { keep-last: 7, keep-daily: 7, keep-weekly: 4, keep-monthly: 12 }
export function loadTargetConfig(file: string | undefined, target: string | undefined, cwd = process.cwd()): Record<string, unknown> {
  const explicit = file !== undefined;
  const configPath = path.resolve(cwd, file ?? DEFAULT_CONFIG_FILE);
  if (!fs.existsSync(configPath)) {
    if (explicit) throw usageError(`config file ${configPath} does not exist`, 'pass the path of an existing pgops.config.yml to --config');
    if (target) throw usageError(`--target ${target} needs a config file, and ${configPath} does not exist`, 'create pgops.config.yml with a targets: section, or pass --config FILE');
    return {};
  }
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw usageError(`config file ${configPath} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax');
  }
  const root = (doc ?? {}) as Record<string, unknown>;
  const defaults = flatten(root.defaults, `${configPath}: defaults`);
  if (!target) return defaults;
  const targets = (root.targets ?? {}) as Record<string, unknown>;
  if (!(target in targets)) {
    const names = Object.keys(targets);
    throw usageError(`target "${target}" is not in ${configPath}`, names.length ? `known targets: ${names.join(', ')}` : 'add it under targets:');
  }
  return { ...defaults, ...flatten(targets[target], `${configPath}: targets.${target}`) };
}

const known = new Set(OPTIONS.map((o) => o.flag));

// yaml loads only when there is a config file to read: archive_command (pgops wal push) starts once per WAL segment.
const loadCjs = createRequire(import.meta.url);
function parseYaml(text: string): unknown {
  return (loadCjs('yaml') as typeof import('yaml')).parse(text);
}

function flatten(section: unknown, where: string): Record<string, unknown> {
  if (section === undefined || section === null) return {};
  if (typeof section !== 'object' || Array.isArray(section)) throw usageError(`${where} must be a mapping of option names to values`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(section as Record<string, unknown>)) {
    if (key === 'retention') {
      Object.assign(out, flatten(value, `${where}.retention`));
      continue;
    }
    if (!known.has(key)) throw usageError(`unknown option "${key}" in ${where}`, 'config keys are the flag names without dashes in front, e.g. keep-last, s3-path-style');
    out[key] = value;
  }
  return out;
}
