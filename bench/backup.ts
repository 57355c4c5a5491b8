#!/usr/bin/env -S node --import tsx
// Benchmark: pgops backup and restore against bare pg_dump and pg_restore, interleaved in one run (bench/README.md).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateIdentity } from '../lib/age/index.ts';
import { jsonEnvelope } from '../test/support/cli.ts';
import { startCluster, SUPERUSER, type Cluster } from '../test/support/cluster.ts';
import { startS3Server, type S3Server } from '../test/support/s3.ts';
import { entryAfterRun, prepareLauncher, type PgopsLauncher } from './lib/bundle.ts';
import { parseBenchArgs, USAGE, type BenchOptions } from './lib/args.ts';
import type { Cleanups } from './lib/cleanup.ts';
import { log, RESULTS, ROOT, runBenchmark } from './lib/main.ts';
import { measure, running, type Command } from './lib/measure.ts';
import { FINGERPRINT_SQL, generateData } from './lib/pitr-data.ts';
import { datasetName, formatText, missedRatios, summarise, summariseCosts, writeResults, type CostSpec, type Dataset, type OpSpec, type Report, type Sample, type ScaleResult } from './lib/report.ts';
import { cleanEnv, gitCommit, pgBinDir, queryIn } from './lib/setup.ts';
import { rotate } from './lib/stats.ts';

// a restore holds the data when this gives what it gives on the source (pitr-data's: events' count and max id, the sum of balances)
const CHECK_SQL = { pgbench: 'SELECT count(*)::text AS f FROM pgbench_accounts', realistic: FINGERPRINT_SQL };
const TARGETS = { maxRatio: 1.1, maxEncryptionRatio: 1.1, maxRssMb: 200, maxRssGrowth: 1.1 };
// what the first bytes of every age file are: the encrypted repository's dump must start with them
const AGE_MAGIC = 'age-encryption.org/v1\n';

const OPS: OpSpec[] = [
  { id: 'pg_dump', label: 'pg_dump -Fc -f FILE (bare)', pgops: false },
  { id: 'backup-file', label: 'pgops backup -> file repository', baseline: 'pg_dump', maxRatio: TARGETS.maxRatio, pgops: true },
  { id: 'backup-file-age', label: 'pgops backup -> file repository, age-encrypted', baseline: 'pg_dump', pgops: true },
  { id: 'backup-s3', label: 'pgops backup -> S3 (s3rver)', baseline: 'pg_dump', pgops: true },
  { id: 'pg_restore', label: 'createdb + pg_restore -j 2 (bare)', pgops: false },
  { id: 'restore', label: 'pgops restore --create --jobs 2', baseline: 'pg_restore', maxRatio: TARGETS.maxRatio, pgops: true },
];

// the same backup into the same kind of repository, once encrypted to an age recipient and once not
const COSTS: CostSpec[] = [
  { id: 'encryption', label: 'age encryption: encrypted / plain file backup', op: 'backup-file-age', baseline: 'backup-file', maxRatio: TARGETS.maxEncryptionRatio },
];

interface Bench {
  opts: BenchOptions;
  /** the benchmark database: named after the dataset, pgbench or realistic */
  db: string;
  cluster: Cluster;
  s3: S3Server;
  tmp: string;
  bin: string;
  launcher: PgopsLauncher;
  /** the encrypted repositories' recipient, and the identity file that reads them (the warm-up's restore only) */
  age: { recipient: string; identityFile: string };
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

const backupToFile = (b: Bench, repoDir: string, database = b.db) =>
  pgops(b, ['backup', '--db', b.cluster.url(database), '--repo', `file://${repoDir}`, '--fingerprint', b.opts.fingerprint]);

const backupToS3 = (b: Bench, prefix: string, database = b.db) =>
  pgops(
    b,
    ['backup', '--db', b.cluster.url(database), '--repo', b.s3.repoUrl(prefix), '--s3-endpoint', b.s3.endpoint, '--s3-path-style', '--s3-checksum', 'when-required', '--fingerprint', b.opts.fingerprint],
    b.s3.env,
  );

// pgops repo init (untimed): writers refuse a location without pgops-repo.json
const initFile = (b: Bench, repoDir: string) => runPgops(pgops(b, ['repo', 'init', '--repo', `file://${repoDir}`]));
// an encrypted one: every writer then encrypts what it stores to the recipient, and needs no key of its own
const initEncryptedFile = (b: Bench, repoDir: string) => runPgops(pgops(b, ['repo', 'init', '--repo', `file://${repoDir}`, '--encrypt-to', b.age.recipient]));
const initS3 = (b: Bench, prefix: string) =>
  runPgops(pgops(b, ['repo', 'init', '--repo', b.s3.repoUrl(prefix), '--s3-endpoint', b.s3.endpoint, '--s3-path-style', '--s3-checksum', 'when-required'], b.s3.env));

const restoreFromFile = (b: Bench, repoDir: string, target: string, more: string[] = []) =>
  pgops(b, ['restore', '--repo', `file://${repoDir}`, '--to', b.cluster.url(target), '--create', '--jobs', '2', ...more]);

// A new age key pair: the recipient for repo init, the identity in a file of its own (mode 0600) for restore.
function makeAgeKey(tmp: string): Bench['age'] {
  const { identity, recipient } = generateIdentity();
  const identityFile = path.join(tmp, 'age-identity.txt');
  fs.writeFileSync(identityFile, `# bench:backup's key, made for this run\n${identity}\n`, { mode: 0o600 });
  return { recipient, identityFile };
}

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

// Proves (untimed) that the backups into the encrypted repository stored their dumps encrypted: every
// backups/<db>/<id>/dump is an age file. A backup that had stored it plain would measure nothing.
function checkEncrypted(repoDir: string): void {
  const dumps = (fs.readdirSync(repoDir, { recursive: true }) as string[]).filter((f) => path.basename(f) === 'dump').map((f) => path.join(repoDir, f));
  if (dumps.length === 0) throw new Error(`the encrypted repository ${repoDir} holds no dump after the backup`);
  for (const file of dumps) {
    const head = Buffer.alloc(AGE_MAGIC.length);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    if (head.toString('latin1') !== AGE_MAGIC) throw new Error(`${file}, in the encrypted repository, is not an age file: the backup did not encrypt`);
  }
}

// Backs up and restores the small postgres database once, untimed: fills the page cache and proves the setup, also
// that what the encrypted repository holds is encrypted and reads back with the identity.
async function warmUp(b: Bench): Promise<void> {
  const repo = path.join(b.tmp, 'warm-up');
  const repoAge = path.join(b.tmp, 'warm-up-age');
  await initFile(b, repo);
  await initEncryptedFile(b, repoAge);
  await initS3(b, 'warm-up');
  await runPgops(backupToFile(b, repo, 'postgres'));
  await runPgops(backupToFile(b, repoAge, 'postgres'));
  checkEncrypted(repoAge);
  await runPgops(backupToS3(b, 'warm-up', 'postgres'));
  await runPgops(restoreFromFile(b, repo, 'warm_up'));
  await b.cluster.query('DROP DATABASE warm_up');
  await runPgops(restoreFromFile(b, repoAge, 'warm_up_age', ['--identity', b.age.identityFile]));
  await b.cluster.query('DROP DATABASE warm_up_age');
  fs.rmSync(repo, { recursive: true, force: true });
  fs.rmSync(repoAge, { recursive: true, force: true });
}

// A fresh database of the dataset, vacuumed and analyzed; returns its size in bytes and what CHECK_SQL gives on it.
async function buildDatabase(b: Bench, data: Dataset): Promise<{ databaseBytes: number; check: string }> {
  await b.cluster.query(`DROP DATABASE IF EXISTS ${b.db}`);
  await b.cluster.query(`CREATE DATABASE ${b.db}`);
  if (data.dataset === 'pgbench') {
    log(`scale ${data.scale}: pgbench -i -s ${data.scale}`);
    await measure(tool(b, 'pgbench', ['-i', '-s', String(data.scale), '-q', b.db]));
    await queryIn(b.cluster.url(b.db), 'VACUUM ANALYZE');
  } else {
    // generateData runs on the harness's cached client for the database (so that setseed holds for its session);
    // that client then stays connected, idle, which is harmless because this database is built once and never dropped
    log(`${datasetName(data)}: generating the database (bench/lib/pitr-data.ts)`);
    await generateData(b.cluster, b.db, data.sizeMb, log);
  }
  const [row] = await b.cluster.query<{ size: string }>('SELECT pg_database_size($1) AS size', [b.db]);
  const [{ f }] = await queryIn<{ f: string }>(b.cluster.url(b.db), CHECK_SQL[b.opts.dataset]);
  return { databaseBytes: Number(row.size), check: f };
}

// Flushes dirty buffers before each timed run, so that no run pays for the writes of the one before.
async function quiesce(b: Bench): Promise<void> {
  await b.cluster.query('CHECKPOINT');
}

// Proves a restore really restored the data (CHECK_SQL gives what it gave on the source), then drops the database
// (neither is timed).
async function checkAndDrop(b: Bench, database: string, expected: string): Promise<void> {
  const [{ f }] = await queryIn<{ f: string }>(b.cluster.url(database), CHECK_SQL[b.opts.dataset]);
  if (f !== expected) throw new Error(`restored database ${database} gives ${f} for ${CHECK_SQL[b.opts.dataset]}, the source ${expected}`);
  await b.cluster.query(`DROP DATABASE ${database} WITH (FORCE)`);
}

// One round: the four backups in a rotating order, then the two restores in an alternating order.
// Returns the samples and the size of the bare dump.
async function runRound(b: Bench, data: Dataset, check: string, round: number): Promise<{ samples: Sample[]; dumpBytes: number }> {
  const name = datasetName(data);
  const s3Prefix = `${name.replace(/ /g, '-').toLowerCase()}/round-${round}`;
  const dumpFile = path.join(b.tmp, `bare-${round}.dump`);
  const repoDir = path.join(b.tmp, `repo-${round}`);
  const repoAgeDir = path.join(b.tmp, `repo-age-${round}`);
  const samples: Sample[] = [];
  await initFile(b, repoDir);
  await initEncryptedFile(b, repoAgeDir);
  await initS3(b, s3Prefix);
  const record = (op: string, load1: number, m: { seconds: number; peakRssKb?: number }) => {
    samples.push({ round, op, seconds: m.seconds, peakRssKb: m.peakRssKb, load1 });
    log(`${name} round ${round}/${b.opts.rounds}: ${op} ${m.seconds.toFixed(2)} s${m.peakRssKb ? `, peak RSS ${(m.peakRssKb / 1024).toFixed(0)} MB` : ''}, load ${load1.toFixed(2)}`);
  };
  const backups: Record<string, () => Promise<{ seconds: number; peakRssKb?: number }>> = {
    pg_dump: () => measure(tool(b, 'pg_dump', ['-Fc', '-f', dumpFile, b.db])),
    'backup-file': () => runPgops(backupToFile(b, repoDir)),
    'backup-file-age': () => runPgops(backupToFile(b, repoAgeDir)),
    'backup-s3': () => runPgops(backupToS3(b, s3Prefix)),
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
      record(op, os.loadavg()[0], await backups[op]());
    }
    checkEncrypted(repoAgeDir);
    for (const op of rotate(Object.keys(restores), round - 1)) {
      await quiesce(b);
      record(op, os.loadavg()[0], await restores[op]());
      await checkAndDrop(b, restoredInto[op], check);
    }
    return { samples, dumpBytes: fs.statSync(dumpFile).size };
  } finally {
    fs.rmSync(dumpFile, { force: true });
    fs.rmSync(repoDir, { recursive: true, force: true });
    fs.rmSync(repoAgeDir, { recursive: true, force: true });
  }
}

async function runScale(b: Bench, data: Dataset): Promise<ScaleResult> {
  const { databaseBytes, check } = await buildDatabase(b, data);
  const samples: Sample[] = [];
  let dumpBytes = 0;
  for (let round = 1; round <= b.opts.rounds; round++) {
    const r = await runRound(b, data, check, round);
    samples.push(...r.samples);
    dumpBytes = r.dumpBytes;
  }
  const rows = summarise(OPS, samples);
  const costs = summariseCosts(COSTS, samples);
  const peakRssMb = Math.max(...rows.flatMap((r) => (r.peakRssMb === undefined ? [] : [r.peakRssMb])));
  return { ...data, databaseBytes, dumpBytes, samples, rows, costs, peakRssMb, rssPass: peakRssMb <= TARGETS.maxRssMb };
}

// The targets the run missed, as short phrases.
function missedTargets(scales: ScaleResult[], growth: Report['rssGrowth']): string[] {
  const missed: string[] = [];
  for (const s of scales) {
    missed.push(...missedRatios(s.rows, `${datasetName(s)}: `), ...missedRatios(s.costs, `${datasetName(s)}: `));
    if (!s.rssPass) missed.push(`${datasetName(s)}: pgops peak RSS ${s.peakRssMb.toFixed(0)} MB > ${TARGETS.maxRssMb} MB`);
  }
  if (growth && !growth.pass) missed.push(`pgops peak RSS grew ${growth.ratio.toFixed(2)}x from scale ${growth.fromScale} to ${growth.toScale}`);
  return missed;
}

async function run(opts: BenchOptions, cleanups: Cleanups): Promise<{ json: string; markdown: string }> {
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
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
  const b: Bench = { opts, db: opts.dataset, cluster, s3, tmp, bin, launcher, age: makeAgeKey(tmp), env: cleanEnv() };

  await warmUp(b);
  const scales: ScaleResult[] = [];
  const datasets: Dataset[] = opts.dataset === 'pgbench' ? opts.scales.map((scale) => ({ dataset: 'pgbench', scale })) : [{ dataset: 'realistic', sizeMb: opts.sizeMb }];
  for (const data of datasets) scales.push(await runScale(b, data));

  const first = scales[0];
  const last = scales[scales.length - 1];
  const growthRatio = last.peakRssMb / first.peakRssMb;
  // several parts only with pgbench's --scales
  const rssGrowth =
    first.dataset === 'pgbench' && last.dataset === 'pgbench' && scales.length > 1
      ? { fromScale: first.scale, toScale: last.scale, ratio: growthRatio, pass: growthRatio <= TARGETS.maxRssGrowth }
      : undefined;
  const report: Report = {
    benchmark: 'backup',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, pgDump: execFileSync(path.join(bin, 'pg_dump'), ['--version'], { encoding: 'utf8' }).trim(), loadAverage: { start: loadAtStart, end: os.loadavg() } },
    pgops: { entry: entryAfterRun(ROOT, launcher), commit: gitCommit(ROOT) },
    options: { dataset: opts.dataset, ...(opts.dataset === 'pgbench' ? { scales: opts.scales } : { sizeMb: opts.sizeMb }), rounds: opts.rounds, fingerprint: opts.fingerprint },
    targets: TARGETS,
    scales,
    rssGrowth,
    missed: missedTargets(scales, rssGrowth),
  };
  process.stdout.write(formatText(report));
  return writeResults(report, RESULTS);
}

await runBenchmark(process.argv.slice(2), { usage: USAGE, parse: parseBenchArgs, run });
