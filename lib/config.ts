import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { didYouMean } from './did-you-mean.ts';
import { PgopsError, messageOf, usageError } from './errors.ts';
import { OPTION_DEFS } from './options.ts';
import { formatSize } from './units.ts';

export const DEFAULT_CONFIG_FILE = 'pgops.config.yml';
// the system-wide config folder, as /etc/<tool>/ is for most daemons' and tools' own config
export const SYSTEM_CONFIG_DIR = '/etc/pgops';

// Where the config search starts: the working folder, the environment (XDG_CONFIG_HOME, HOME), the system folder.
export interface ConfigSearch {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** tests point this elsewhere; /etc/pgops otherwise */
  systemDir?: string;
}

// The config files looked for when neither --config nor PGOPS_CONFIG names one, the first found used: the working
// folder's (a clone, a CI job), the user's ($XDG_CONFIG_HOME/pgops/, ~/.config/pgops/ when unset, as the XDG base
// directory spec says), then the system's (/etc/pgops/, for systemd units and archive_command alike).
export function configSearchPath(search: ConfigSearch = {}): string[] {
  const env = search.env ?? process.env;
  // the spec: a relative XDG_CONFIG_HOME is invalid and ignored
  const xdg = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || os.homedir(), '.config');
  return [path.resolve(search.cwd ?? process.cwd(), DEFAULT_CONFIG_FILE), path.join(xdg, 'pgops', DEFAULT_CONFIG_FILE), path.join(search.systemDir ?? SYSTEM_CONFIG_DIR, DEFAULT_CONFIG_FILE)];
}

// The settings a run takes from the config file, and which file that was (none found: file undefined, searched
// says where pgops looked), for --verbose to say.
export interface TargetConfig {
  values: Record<string, unknown>;
  file?: string;
  searched: string[];
}

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
export function loadTargetConfig(file: string | undefined, target: string | undefined, cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  return readTargetConfig(file, target, { cwd, env }).values;
}

// The same, saying which file it read: --config FILE, else PGOPS_CONFIG, else the first of configSearchPath found.
export function readTargetConfig(file: string | undefined, target: string | undefined, search: ConfigSearch = {}): TargetConfig {
  const env = search.env ?? process.env;
  const named = file !== undefined ? { file, by: '--config' } : env.PGOPS_CONFIG ? { file: env.PGOPS_CONFIG, by: 'PGOPS_CONFIG' } : undefined;
  let configPath: string;
  let searched: string[];
  if (named) {
    configPath = path.resolve(search.cwd ?? process.cwd(), named.file);
    searched = [configPath];
    if (!fs.existsSync(configPath)) {
      throw usageError(`config file ${configPath} (${named.by}) does not exist`, named.by === '--config' ? 'pass the path of an existing pgops.config.yml to --config' : 'set PGOPS_CONFIG to the path of an existing pgops.config.yml, or unset it to use the usual places');
    }
  } else {
    searched = configSearchPath(search);
    const found = searched.find((f) => fs.existsSync(f));
    if (!found) {
      if (target) throw usageError(`--target ${target} needs a config file, and none was found: looked for ${searched.join(', ')}`, 'create pgops.config.yml with a targets: section in one of those places, or pass --config FILE');
      return { values: {}, searched };
    }
    configPath = found;
  }
  return { values: parseTargetConfig(configPath, target), file: configPath, searched };
}

// One config file's defaults, with the target's settings over them.
function parseTargetConfig(configPath: string, target: string | undefined): Record<string, unknown> {
  let doc: unknown;
  const text = readConfigText(configPath);
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw usageError(`config file ${configPath} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, 'fix the YAML syntax');
  }
  const root = rootOf(doc, configPath);
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

// The keys a config file may hold: every option a file may decide, and retention: (folded into its target).
const known = new Set(OPTION_DEFS.filter((o) => !o.noConfig).map((o) => o.flag));
const commandLineOnly = new Set(OPTION_DEFS.filter((o) => o.noConfig).map((o) => o.flag));
const SECTIONS = ['defaults', 'targets'];

// The file's top level: defaults: and targets:, and x-... keys (a home for YAML anchors, as compose files have).
function rootOf(doc: unknown, configPath: string): Record<string, unknown> {
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw usageError(`config file ${configPath} must be a mapping with defaults: and targets:`, 'see the README\'s "Config file and targets"');
  for (const key of Object.keys(doc)) {
    if (SECTIONS.includes(key) || key.startsWith('x-')) continue;
    const near = didYouMean(key, SECTIONS);
    throw usageError(`unknown section "${key}" in ${configPath}`, `${near ? `${near} ` : ''}a config file has defaults: and targets: (and x-... keys for YAML anchors)`);
  }
  const root = doc as Record<string, unknown>;
  if (root.targets !== undefined && root.targets !== null && (typeof root.targets !== 'object' || Array.isArray(root.targets))) {
    throw usageError(`${configPath}: targets must be a mapping of target names to their settings`, 'write targets:, then each target name indented under it');
  }
  return root;
}

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
    if (commandLineOnly.has(key)) throw usageError(`"${key}" in ${where} is never read from a config file`, `a file must not decide --${key}: give it on the command line (or remove it from the file)`);
    if (!known.has(key)) {
      const near = didYouMean(key, [...known, 'retention']);
      throw usageError(`unknown option "${key}" in ${where}`, `${near ? `${near} ` : ''}config keys are the flag names without dashes in front, e.g. keep-last, s3-path-style`);
    }
    out[key] = value;
  }
  return out;
}
