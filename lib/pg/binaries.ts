import fs from 'node:fs';
import path from 'node:path';
import { ExitCode, PgopsError } from '../errors.ts';

export type PgTool = 'pg_dump' | 'pg_dumpall' | 'pg_restore' | 'psql' | 'pg_basebackup' | 'pg_verifybackup' | 'pg_ctl' | 'pg_controldata' | 'pg_waldump';

export interface PgBinary {
  path: string;
  version: string;
  major: number;
}

// Folders that may hold PostgreSQL client programs: --pg-bin alone when given, else PATH and Debian's versioned folders.
function candidateDirs(pgBin?: string): string[] {
  if (pgBin) return [pgBin];
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  try {
    for (const v of fs.readdirSync('/usr/lib/postgresql')) dirs.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not a Debian layout
  }
  return [...new Set(dirs)];
}

const cache = new Map<string, PgBinary | null>();

function debianHas(tool: string): boolean {
  try {
    return fs.readdirSync('/usr/lib/postgresql').some((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/${tool}`));
  } catch {
    return false;
  }
}

async function probe(file: string): Promise<PgBinary | null> {
  if (cache.has(file)) return cache.get(file)!;
  let result: PgBinary | null = null;
  try {
    fs.accessSync(file, fs.constants.X_OK);
    // Debian's /usr/bin wrapper (pg_wrapper, a Perl script) picks one of /usr/lib/postgresql/*/bin, which are probed themselves
    if (fs.realpathSync(file).endsWith('/pg_wrapper') && debianHas(path.basename(file))) return null;
    // a one-line answer: zx, which quotes the path as one argument; streams of data go through execa (run-tool.ts)
    const { $ } = await import('zx');
    const out = (await $({ quiet: true, timeout: 10_000 })`${file} --version`).stdout;
    const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(out);
    if (m) result = { path: file, version: m[2] ? `${m[1]}.${m[2]}` : m[1], major: Number(m[1]) };
  } catch {
    result = null;
  }
  cache.set(file, result);
  return result;
}

// What decides a tool's minimum major version, for the message when it is older: "the server's major version 17"
// unless told otherwise (readsDumpOf).
export interface Minimum {
  minMajor?: number;
  /** what minMajor is, after "is older than": "the pg_dump 17.2 that made the dump" */
  minReason?: string;
  /** the rule, after "must be at least": "the dump's pg_dump version" */
  minRule?: string;
}

// The minimum for a pg_restore reading a dump of pg_dump `pgDumpVersion`: its major version. An archive of a newer
// pg_dump has a newer format that an older pg_restore refuses ("unsupported version (1.16) in file header").
export function readsDumpOf(pgDumpVersion: string): Required<Minimum> {
  const major = Number(pgDumpVersion.split('.')[0]);
  return { minMajor: major, minReason: `the pg_dump ${pgDumpVersion} that made the dump (major version ${major})`, minRule: "the dump's pg_dump version" };
}

// Finds the newest `tool` whose major version is at least minMajor; says which package to install otherwise.
export async function findPgTool(tool: PgTool, opts: { pgBin?: string } & Minimum = {}): Promise<PgBinary> {
  const found: PgBinary[] = [];
  const probed = await Promise.all(candidateDirs(opts.pgBin).map((dir) => probe(path.join(dir, tool))));
  for (const bin of probed) if (bin && !found.some((f) => f.path === bin.path)) found.push(bin);
  found.sort((a, b) => b.major - a.major || b.version.localeCompare(a.version, undefined, { numeric: true }));
  const min = opts.minMajor ?? 0;
  const best = found[0];
  if (best && best.major >= min) return best;
  const where = opts.pgBin ? ` in ${opts.pgBin}` : '';
  const pkg = `postgresql-client-${min || 15}`;
  if (!best) {
    throw new PgopsError(`${tool} not found${where}`, {
      code: ExitCode.UNKNOWN,
      hint: `install the PostgreSQL client programs (Debian/Ubuntu: apt-get install ${pkg}) or pass --pg-bin DIR`,
    });
  }
  throw new PgopsError(`${tool} ${best.version} (${best.path}) is older than ${opts.minReason ?? `the server's major version ${min}`}: ${tool} must be at least ${opts.minRule ?? "the server's version"}`, {
    code: ExitCode.UNKNOWN,
    hint: `install ${tool} ${min} or newer (Debian/Ubuntu: apt-get install ${pkg}, from apt.postgresql.org if your release lacks it) or pass --pg-bin /usr/lib/postgresql/${min}/bin`,
  });
}
