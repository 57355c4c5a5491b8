import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PgopsError } from '../../errors.ts';
import type { PgBinary } from '../../pg/binaries.ts';
import { execPgTool, streamPgTool } from '../../pg/exec-tool.ts';
import { fileEntry, type ManifestFile } from '../../repo/manifest.ts';
import type { Repo } from '../../repo/repo.ts';
import { streamFailure } from './outcome.ts';

export interface DumpRequest {
  pgDump: PgBinary;
  connString: string;
  env: NodeJS.ProcessEnv;
  snapshotId: string;
  format: 'custom' | 'directory';
  jobs: number;
  compress?: string;
  lockWaitTimeoutMs: number;
  repo: Repo;
  /** the set's folder in the repository, ending in / */
  prefix: string;
  tmpDir?: string;
  signal: AbortSignal;
  onProgress: (bytes: number) => void;
  /** an upper bound of the dump's size (for S3 part sizes) */
  sizeHint?: number;
}

const HINT = 'read pg_dump\'s message above; a lock timeout means a long-held lock blocked it (try again later or raise --lock-wait-timeout)';

// The pg_dump options every format shares.
function dumpArgs(req: DumpRequest, format: string): string[] {
  const args = [`--format=${format}`, `--snapshot=${req.snapshotId}`, `--lock-wait-timeout=${req.lockWaitTimeoutMs}`, '--no-password'];
  if (req.compress !== undefined) args.push(`--compress=${req.compress}`);
  return args;
}

// Runs pg_dump and puts its output into the repository: custom format streamed straight from stdout,
// directory format staged in a temp folder (pg_dump needs one for --jobs) and then put file by file.
// When the repository fails, its error is the error, not pg_dump's death of the broken pipe (outcome.ts).
export async function dumpInto(req: DumpRequest): Promise<ManifestFile[]> {
  return req.format === 'custom' ? dumpCustom(req) : dumpDirectory(req);
}

// Streams a custom-format dump from pg_dump's stdout into <set>/dump.
async function dumpCustom(req: DumpRequest): Promise<ManifestFile[]> {
  const pgDump = streamPgTool({
    file: req.pgDump.path,
    args: [...dumpArgs(req, 'custom'), `--dbname=${req.connString}`],
    env: req.env,
    signal: req.signal,
    what: 'pg_dump',
    hint: HINT,
  });
  const [put, done] = await Promise.allSettled([req.repo.put(`${req.prefix}dump`, pgDump.stdout, { signal: req.signal, onProgress: req.onProgress, sizeHint: req.sizeHint }), pgDump.done]);
  const failure = streamFailure(put, done, req.signal);
  if (failure !== undefined || put.status === 'rejected') throw failure;
  if (put.value.size === 0) throw new PgopsError(`pg_dump (${req.pgDump.path}) exited 0 but wrote nothing`, { hint: 'run it by hand with --version; pass --pg-bin with the folder of a working pg_dump' });
  return [fileEntry('dump', put.value)];
}

// Dumps in directory format into a staging folder, then puts each file under <set>/dump/.
async function dumpDirectory(req: DumpRequest): Promise<ManifestFile[]> {
  const staging = await fs.mkdtemp(path.join(req.tmpDir ?? os.tmpdir(), 'pgops-dump-'));
  try {
    const dir = path.join(staging, 'dump');
    await execPgTool({
      file: req.pgDump.path,
      args: [...dumpArgs(req, 'directory'), `--jobs=${req.jobs}`, `--file=${dir}`, `--dbname=${req.connString}`],
      env: req.env,
      signal: req.signal,
      what: 'pg_dump',
      hint: HINT,
    });
    const files: ManifestFile[] = [];
    let before = 0;
    for (const name of (await fs.readdir(dir)).sort()) {
      const put = await req.repo.put(`${req.prefix}dump/${name}`, createReadStream(path.join(dir, name)), {
        signal: req.signal,
        onProgress: (b) => req.onProgress(before + b),
      });
      before += put.size;
      files.push(fileEntry(`dump/${name}`, put));
    }
    return files;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

// Stores the cluster's roles and tablespaces (pg_dumpall --globals-only --no-role-passwords) as globals.sql.
export async function dumpGlobals(req: { pgDumpall: PgBinary; connString: string; env: NodeJS.ProcessEnv; repo: Repo; prefix: string; signal: AbortSignal }): Promise<ManifestFile> {
  const pgDumpall = streamPgTool({
    file: req.pgDumpall.path,
    args: ['--globals-only', '--no-role-passwords', '--no-password', `--dbname=${req.connString}`],
    env: req.env,
    signal: req.signal,
    what: 'pg_dumpall --globals-only',
    hint: 'the role needs to read pg_roles and pg_tablespace; read the message above',
  });
  const [put, done] = await Promise.allSettled([req.repo.put(`${req.prefix}globals.sql`, pgDumpall.stdout, { signal: req.signal }), pgDumpall.done]);
  const failure = streamFailure(put, done, req.signal);
  if (failure !== undefined || put.status === 'rejected') throw failure;
  return fileEntry('globals.sql', put.value);
}
