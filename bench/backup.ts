#!/usr/bin/env -S node --import tsx
// Benchmark: pgops backup and restore against bare pg_dump and pg_restore, interleaved in one run (bench/README.md).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jsonEnvelope } from '../test/support/cli.ts';
import { startCluster, SUPERUSER, type Cluster } from '../test/support/cluster.ts';
import { startS3Server, type S3Server } from '../test/support/s3.ts';
import { entryAfterRun, prepareLauncher, type PgopsLauncher } from './lib/bundle.ts';
import { parseBenchArgs, USAGE, type BenchOptions } from './lib/args.ts';
import type { Cleanups } from './lib/cleanup.ts';
import { log, RESULTS, ROOT, runBenchmark } from './lib/main.ts';
import { measure, running, type Command } from './lib/measure.ts';
import { formatText, missedRatios, summarise, writeResults, type OpSpec, type Report, type Sample, type ScaleResult } from './lib/report.ts';
import { cleanEnv, gitCommit, pgBinDir, queryIn } from './lib/setup.ts';
import { rotate } from './lib/stats.ts';

const DB = 'pgbench';
const TARGETS = { maxRatio: 1.1, maxRssMb: 200, maxRssGrowth: 1.1 };

const OPS: OpSpec[] = [
  { id: 'pg_dump', label: 'pg_dump -Fc -f FILE (bare)', pgops: false },
  { id: 'backup-file', label: 'pgops backup -> file repository', baseline: 'pg_dump', maxRatio: TARGETS.maxRatio, pgops: true },
  { id: 'backup-s3', label: 'pgops backup -> S3 (s3rver)', baseline: 'pg_dump', pgops: true },
  { id: 'pg_restore', label: 'createdb + pg_restore -j 2 (bare)', pgops: false },
  { id: 'restore', label: 'pgops restore --create --jobs 2', baseline: 'pg_restore', maxRatio: TARGETS.maxRatio, pgops: true },
];

interface Bench {
  opts: BenchOptions;
  cluster: Cluster;
  s3: S3Server;
  tmp: string;
  bin: string;
  launcher: PgopsLauncher;
  /** the environment every child gets: ours without PG*, PGOPS_*, AWS_* and DATABASE_URL, so only the flags count */
  env: NodeJS.ProcessEnv;
}

const tool = (b: Bench, name: string, args: string[]): Command => ({
  file: path.join(b.bin, name),
  args: ['-h', '127.0.0.1', '-p', String(b.cluster.port), '-U', SUPERUSER, ...args],
  env: b.env,
});

const pgops = (b: Bench, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Command => ({
  file: process.execPath,
  args: [...b.launcher.nodeArgs, ...args, '--json'],
  env: { ...b.env, ...extraEnv },
});

const backupToFile = (b: Bench, repoDir: string, database = DB) =>
  pgops(b, ['backup', '--db', b.cluster.url(database), '--repo', `file://${repoDir}`, '--fingerprint', b.opts.fingerprint]);

const backupToS3 = (b: Bench, prefix: string, database = DB) =>
  pgops(
    b,
    ['backup', '--db', b.cluster.url(database), '--repo', b.s3.repoUrl(prefix), '--s3-endpoint', b.s3.endpoint, '--s3-path-style', '--s3-checksum', 'when-required', '--fingerprint', b.opts.fingerprint],
    b.s3.env,
  );

// pgops repo init (untimed): writers refuse a location without pgops-repo.json
const initFile = (b: Bench, repoDir: string) => runPgops(pgops(b, ['repo', 'init', '--repo', `file://${repoDir}`]));
const initS3 = (b: Bench, prefix: string) =>
  runPgops(pgops(b, ['repo', 'init', '--repo', b.s3.repoUrl(prefix), '--s3-endpoint', b.s3.endpoint, '--s3-path-style', '--s3-checksum', 'when-required'], b.s3.env));

const restoreFromFile = (b: Bench, repoDir: string, target: string) =>
  pgops(b, ['restore', '--repo', `file://${repoDir}`, '--to', b.cluster.url(target), '--create', '--jobs', '2']);

// Runs a pgops command and checks that its --json envelope says ok.
async function runPgops(cmd: Command): Promise<{ seconds: number; peakRssKb?: number }> {
  const m = await measure(cmd, { rss: true });
  let ok = false;
  try {
    ok = jsonEnvelope(m.stdout).ok;
  } catch {
    // reported below
  }
  if (!ok) throw new Error(`pgops exited 0 without an ok result on stdout: ${m.stdout.slice(0, 500)}`);
  return m;
}

// Backs up and restores the small postgres database once, untimed: fills tsx's transform cache and proves the setup.
async function warmUp(b: Bench): Promise<void> {
  const repo = path.join(b.tmp, 'warm-up');
  await initFile(b, repo);
  await initS3(b, 'warm-up');
  await runPgops(backupToFile(b, repo, 'postgres'));
  await runPgops(backupToS3(b, 'warm-up', 'postgres'));
  await runPgops(restoreFromFile(b, repo, 'warm_up'));
  await b.cluster.query('DROP DATABASE warm_up');
  fs.rmSync(repo, { recursive: true, force: true });
}

// A fresh pgbench database of the scale, vacuumed and analyzed; returns its size in bytes.
async function buildDatabase(b: Bench, scale: number): Promise<number> {
  await b.cluster.query(`DROP DATABASE IF EXISTS ${DB}`);
  await b.cluster.query(`CREATE DATABASE ${DB}`);
  log(`scale ${scale}: pgbench -i -s ${scale}`);
  await measure(tool(b, 'pgbench', ['-i', '-s', String(scale), '-q', DB]));
  await queryIn(b.cluster.url(DB), 'VACUUM ANALYZE');
  const [row] = await b.cluster.query<{ size: string }>('SELECT pg_database_size($1) AS size', [DB]);
  return Number(row.size);
}

// Flushes dirty buffers before each timed run, so that no run pays for the writes of the one before.
async function quiesce(b: Bench): Promise<void> {
  await b.cluster.query('CHECKPOINT');
}

// Proves a restore really restored the data, then drops the database (neither is timed).
async function checkAndDrop(b: Bench, database: string, scale: number): Promise<void> {
  const [row] = await queryIn<{ n: string }>(b.cluster.url(database), 'SELECT count(*) AS n FROM pgbench_accounts');
  if (Number(row.n) !== scale * 100_000) throw new Error(`restored database ${database} has ${row.n} pgbench_accounts rows, expected ${scale * 100_000}`);
  await b.cluster.query(`DROP DATABASE ${database} WITH (FORCE)`);
}

// One round: the three backups in a rotating order, then the two restores in an alternating order.
// Returns the samples and the size of the bare dump.
async function runRound(b: Bench, scale: number, round: number): Promise<{ samples: Sample[]; dumpBytes: number }> {
  const dumpFile = path.join(b.tmp, `bare-${round}.dump`);
  const repoDir = path.join(b.tmp, `repo-${round}`);
  const samples: Sample[] = [];
  await initFile(b, repoDir);
  await initS3(b, `scale-${scale}/round-${round}`);
  const record = (op: string, m: { seconds: number; peakRssKb?: number }) => {
    samples.push({ round, op, seconds: m.seconds, peakRssKb: m.peakRssKb });
    log(`scale ${scale} round ${round}/${b.opts.rounds}: ${op} ${m.seconds.toFixed(2)} s${m.peakRssKb ? `, peak RSS ${(m.peakRssKb / 1024).toFixed(0)} MB` : ''}`);
  };
  const backups: Record<string, () => Promise<{ seconds: number; peakRssKb?: number }>> = {
    pg_dump: () => measure(tool(b, 'pg_dump', ['-Fc', '-f', dumpFile, DB])),
    'backup-file': () => runPgops(backupToFile(b, repoDir)),
    'backup-s3': () => runPgops(backupToS3(b, `scale-${scale}/round-${round}`)),
  };
  const restores: Record<string, () => Promise<{ seconds: number; peakRssKb?: number }>> = {
    pg_restore: async () => {
      const created = await measure(tool(b, 'createdb', ['restore_bare']));
      const restored = await measure(tool(b, 'pg_restore', ['-j', '2', '-d', 'restore_bare', dumpFile]));
      return { seconds: created.seconds + restored.seconds };
    },
    restore: () => runPgops(restoreFromFile(b, repoDir, 'restore_pgops')),
  };
  const restoredInto: Record<string, string> = { pg_restore: 'restore_bare', restore: 'restore_pgops' };
  try {
    for (const op of rotate(Object.keys(backups), round - 1)) {
      await quiesce(b);
      record(op, await backups[op]());
    }
    for (const op of rotate(Object.keys(restores), round - 1)) {
      await quiesce(b);
      record(op, await restores[op]());
      await checkAndDrop(b, restoredInto[op], scale);
    }
    return { samples, dumpBytes: fs.statSync(dumpFile).size };
  } finally {
    fs.rmSync(dumpFile, { force: true });
    fs.rmSync(repoDir, { recursive: true, force: true });
  }
}

async function runScale(b: Bench, scale: number): Promise<ScaleResult> {
  const databaseBytes = await buildDatabase(b, scale);
  const samples: Sample[] = [];
  let dumpBytes = 0;
  for (let round = 1; round <= b.opts.rounds; round++) {
    const r = await runRound(b, scale, round);
    samples.push(...r.samples);
    dumpBytes = r.dumpBytes;
  }
  const rows = summarise(OPS, samples);
  const peakRssMb = Math.max(...rows.flatMap((r) => (r.peakRssMb === undefined ? [] : [r.peakRssMb])));
  return { scale, databaseBytes, dumpBytes, samples, rows, peakRssMb, rssPass: peakRssMb <= TARGETS.maxRssMb };
}

// The targets the run missed, as short phrases.
function missedTargets(scales: ScaleResult[], growth: Report['rssGrowth']): string[] {
  const missed: string[] = [];
  for (const s of scales) {
    missed.push(...missedRatios(s.rows, `scale ${s.scale}: `));
    if (!s.rssPass) missed.push(`scale ${s.scale}: pgops peak RSS ${s.peakRssMb.toFixed(0)} MB > ${TARGETS.maxRssMb} MB`);
  }
  if (growth && !growth.pass) missed.push(`pgops peak RSS grew ${growth.ratio.toFixed(2)}x from scale ${growth.fromScale} to ${growth.toScale}`);
  return missed;
}

async function run(opts: BenchOptions, cleanups: Cleanups): Promise<{ json: string; markdown: string }> {
  const startedAt = new Date().toISOString();
  const bin = pgBinDir();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-bench-'));
  cleanups.add(`remove ${tmp}`, () => fs.rmSync(tmp, { recursive: true, force: true }));
  log('starting a PostgreSQL cluster and an S3 server');
  const cluster = await startCluster();
  cleanups.add('stop the PostgreSQL cluster', () => cluster.stop());
  const s3 = await startS3Server('pgops-bench');
  cleanups.add('stop the S3 server', () => s3.stop());
  // runs first: a child still running (after a failure or a signal) must not outlive the cluster
  cleanups.add('stop running children', () => running.forEach((c) => c.kill('SIGTERM')));
  const launcher = prepareLauncher(ROOT);
  log(`pgops runs from: ${launcher.entry}`);
  const b: Bench = { opts, cluster, s3, tmp, bin, launcher, env: cleanEnv() };

  await warmUp(b);
  const scales: ScaleResult[] = [];
  for (const scale of opts.scales) scales.push(await runScale(b, scale));

  const first = scales[0];
  const last = scales[scales.length - 1];
  const growthRatio = last.peakRssMb / first.peakRssMb;
  const rssGrowth = scales.length > 1 ? { fromScale: first.scale, toScale: last.scale, ratio: growthRatio, pass: growthRatio <= TARGETS.maxRssGrowth } : undefined;
  const report: Report = {
    benchmark: 'backup',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, pgDump: execFileSync(path.join(bin, 'pg_dump'), ['--version'], { encoding: 'utf8' }).trim() },
    pgops: { entry: entryAfterRun(ROOT, launcher), commit: gitCommit(ROOT) },
    options: { scales: opts.scales, rounds: opts.rounds, fingerprint: opts.fingerprint },
    targets: TARGETS,
    scales,
    rssGrowth,
    missed: missedTargets(scales, rssGrowth),
  };
  process.stdout.write(formatText(report));
  return writeResults(report, RESULTS);
}

await runBenchmark(process.argv.slice(2), { usage: USAGE, parse: parseBenchArgs, run });
