import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PgopsError, messageOf, usageError } from './errors.ts';
import { OPTION_DEFS } from './options.ts';
import { formatSize } from './units.ts';

export const DEFAULT_CONFIG_FILE = 'pgops.config.yml';

// A config holds targets and settings: a few kB, a fleet's a few hundred. A file over this is a mistake (--config
// naming a dump or a log) and is refused before it is read: parsing YAML is synchronous, so the process could not
// even answer SIGTERM while it runs (about 1.5 s per MB here, growing faster than the size: 114 MB took minutes).
export const MAX_CONFIG_BYTES = 1024 * 1024;

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
  const text = readConfigText(configPath);
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw usageError(`config file ${configPath} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax');
  }
  const root = (doc ?? {}) as Record<string, unknown>;
  const defaults = flatten(root.defaults, `${configPath}: defaults`);
  if (!target) return defaults;
  const targets = (root.targets ?? {}) as Record<string, unknown>;
  if (!Object.hasOwn(targets, target)) {
    const names = Object.keys(targets);
    const shown = names.length > 20 ? `${names.slice(0, 20).join(', ')} and ${names.length - 20} more` : names.join(', ');
    throw usageError(`target "${target}" is not in ${configPath}`, names.length ? `known targets: ${shown}` : 'add it under targets:');
  }
  return { ...defaults, ...flatten(targets[target], `${configPath}: targets.${target}`) };
}

const known = new Set(OPTION_DEFS.map((o) => o.flag));

// The config file's text; refused when it is not a regular file or is over MAX_CONFIG_BYTES, checked before reading
// (a FIFO or /dev/zero would never end) and while reading (a file that grows meanwhile is refused, not read on).
function readConfigText(configPath: string): string {
  const tooBig = (size: string) =>
    usageError(`config file ${configPath} is ${size}, over the ${formatSize(MAX_CONFIG_BYTES)} limit for a pgops config`, 'check that --config names the right file (a config holds targets and settings only); split a very large fleet into one config file per group of targets');
  let fd: number;
  try {
    if (!fs.statSync(configPath).isFile()) throw usageError(`config file ${configPath} is not a regular file`, 'pass the path of a pgops.config.yml');
    fd = fs.openSync(configPath, 'r');
  } catch (err) {
    if (err instanceof PgopsError) throw err;
    throw usageError(`cannot read config file ${configPath}: ${messageOf(err)}`, 'check the path and that the user pgops runs as may read it');
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size > MAX_CONFIG_BYTES) throw tooBig(`${formatSize(size)} (${size} bytes)`);
    const buf = Buffer.alloc(size + 1);
    let read = 0;
    while (read < buf.length) {
      const n = fs.readSync(fd, buf, read, buf.length - read, read);
      if (n === 0) break;
      read += n;
    }
    if (read > MAX_CONFIG_BYTES || read > size) throw tooBig('growing while it is read');
    return buf.subarray(0, read).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

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
