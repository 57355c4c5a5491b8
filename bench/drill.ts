#!/usr/bin/env -S node --import tsx
// Benchmark: pgops drill against bare createdb + pg_restore of the same dump, and what fingerprinting costs a
// backup, interleaved in one run (bench/README.md).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { regressionCorpus } from '../test/corpus/regression/corpus.ts';
import { jsonData, jsonEnvelope } from '../test/support/cli.ts';
import { startCluster, SUPERUSER, type Cluster } from '../test/support/cluster.ts';
import { DRILL_USAGE, parseDrillArgs, type DrillBenchOptions, type Fingerprint } from './lib/args.ts';
import { entryAfterRun, prepareLauncher, type PgopsLauncher } from './lib/bundle.ts';
import type { Cleanups } from './lib/cleanup.ts';
import { log, RESULTS, ROOT, runBenchmark } from './lib/main.ts';
import { drillPhases, formatDrillText, writeDrillResults, type DrillBenchReport, type DrillBenchSample, type DrillRound } from './lib/drill-report.ts';
import { measure, running, type Command, type Measurement } from './lib/measure.ts';
import { missedRatios, summarise, type OpSpec } from './lib/report.ts';
import { cleanEnv, gitCommit, pgBinDir, queryIn } from './lib/setup.ts';
import { rotate } from './lib/stats.ts';

const BARE_DB = 'restore_bare';
const TARGETS = { count: 1.05, hash: 1.25, drill: 1.3 };
/** pgops's exit code for a drill that ran and found a problem (lib/errors.ts ExitCode.FAILED) */
const DRILL_FAILED_EXIT = 2;

const OPS: OpSpec[] = [
  { id: 'backup-none', label: 'pgops backup --fingerprint none', pgops: true },
  { id: 'backup-count', label: 'pgops backup --fingerprint count', baseline: 'backup-none', maxRatio: TARGETS.count, pgops: true },
  { id: 'backup-hash', label: 'pgops backup --fingerprint hash', baseline: 'backup-none', maxRatio: TARGETS.hash, pgops: true },
  { id: 'pg_restore', label: 'createdb + pg_restore -j 2 (bare, same dump)', pgops: false },
  { id: 'drill', label: 'pgops drill --jobs 2 (hash fingerprints)', baseline: 'pg_restore', maxRatio: TARGETS.drill, pgops: true },
  { id: 'drill-count', label: 'pgops drill --jobs 2 (count fingerprints)', baseline: 'pg_restore', pgops: true },
];
const baselineLabel = (op: string) => {
  const base = OPS.find((o) => o.id === op)?.baseline;
  return base === 'backup-none' ? 'fp none' : base === 'pg_restore' ? 'bare' : '';
};

interface Bench {
  opts: DrillBenchOptions;
  /** the source database: pgbench, or the regression database of the corpus */
  db: string;
  source: Cluster;
  drillServer: Cluster;
  tmp: string;
  /** the file repository every timed backup goes into */
  repoDir: string;
  bin: string;
  launcher: PgopsLauncher;
  env: NodeJS.ProcessEnv;
}

const tool = (b: Bench, cluster: Cluster, name: string, args: string[]): Command => ({
  file: path.join(b.bin, name),
  args: ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', SUPERUSER, ...args],
  env: b.env,
});

// --log-format json: the drill's log entries (with their times) cut its wall time into phases
const pgops = (b: Bench, args: string[]): Command => ({ file: process.execPath, args: [...b.launcher.nodeArgs, ...args, '--json', '--log-format', 'json'], env: b.env });

const backup = (b: Bench, repoDir: string, fingerprint: Fingerprint, database = b.db) =>
  pgops(b, ['backup', '--db', b.source.url(database), '--repo', `file://${repoDir}`, '--fingerprint', fingerprint]);

// pgops repo init (untimed): writers refuse a location without pgops-repo.json
const initRepo = (b: Bench, repoDir: string) => measure(pgops(b, ['repo', 'init', '--repo', `file://${repoDir}`]));

const drill = (b: Bench, repoDir: string, backupId: string, database = b.db) =>
  pgops(b, ['drill', '--repo', `file://${repoDir}`, '--db', database, '--backup', backupId, '--target', b.drillServer.url('postgres'), '--jobs', '2']);

// Runs a pgops backup and returns its measurement with the backup id and the path of its dump file.
async function runBackup(cmd: Command, repoDir: string): Promise<Measurement & { backupId: string; dump: string }> {
  const m = await measure(cmd, { rss: true });
  let out: { backupId?: string; manifest?: string } = {};
  try {
    const e = jsonEnvelope(m.stdout);
    if (e.ok) out = e.data as typeof out;
  } catch {
    // reported below
  }
  if (!out.backupId || !out.manifest) throw new Error(`pgops backup exited 0 without an ok result on stdout: ${m.stdout.slice(0, 500)}`);
  return { ...m, backupId: out.backupId, dump: path.join(repoDir, path.dirname(out.manifest), 'dump') };
}

// Runs a pgops drill (exit 0: pass, 2: a check failed, both measured) and returns what its JSON report says.
async function runDrill(b: Bench, cmd: Command, round: number, backupId: string, fingerprint: 'hash' | 'count' = 'hash'): Promise<{ m: Measurement; drill: DrillRound }> {
  const m = await measure(cmd, { rss: true, okCodes: [0, DRILL_FAILED_EXIT] });
  let report: { result?: string; rtoMs?: number | null; checks?: { name: string; status: string; detail: string }[] };
  try {
    report = jsonData(m.stdout);
  } catch {
    throw new Error(`pgops drill printed no JSON report on stdout: ${m.stdout.slice(0, 500)}`);
  }
  const failed = (report.checks ?? []).filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.detail}`);
  // the drill drops its scratch database itself; one left behind would make the next drill refuse to start
  const left = await b.drillServer.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'pgops\\_drill\\_%'");
  for (const { datname } of left) {
    failed.push(`scratch database ${datname} left behind`);
    await b.drillServer.query(`DROP DATABASE "${datname}" WITH (FORCE)`);
  }
  const result = failed.length && report.result === 'pass' ? 'fail' : (report.result ?? 'missing');
  return { m, drill: { round, fingerprint, backupId, seconds: m.seconds, result, rtoMs: report.rtoMs ?? null, failed, phasesMs: drillPhases(m.stderr, m.startedAtMs, m.seconds) } };
}

// Backs up the small postgres database and drills it once, untimed: fills the page cache with node's and pgops's
// files and proves the setup (both clusters, the repository, the drill's checks) before anything is measured.
async function warmUp(b: Bench): Promise<void> {
  const repo = path.join(b.tmp, 'warm-up');
  await initRepo(b, repo);
  const backed = await runBackup(backup(b, repo, 'hash', 'postgres'), repo);
  const { drill: d } = await runDrill(b, drill(b, repo, backed.backupId, 'postgres'), 0, backed.backupId);
  if (d.result !== 'pass') throw new Error(`the warm-up drill of the postgres database did not pass: ${d.failed.join('; ') || d.result}`);
  fs.rmSync(repo, { recursive: true, force: true });
}

// The source database: a fresh pgbench database of the scale, vacuumed and analyzed, or the regression database
// the corpus cluster holds already; returns its size in bytes.
async function buildDatabase(b: Bench): Promise<number> {
  if (b.opts.dataset === 'pgbench') {
    await b.source.query(`CREATE DATABASE ${b.db}`);
    log(`scale ${b.opts.scale}: pgbench -i -s ${b.opts.scale}`);
    await measure(tool(b, b.source, 'pgbench', ['-i', '-s', String(b.opts.scale), '-q', b.db]));
    await queryIn(b.source.url(b.db), 'VACUUM ANALYZE');
  }
  const [row] = await b.source.query<{ size: string }>('SELECT pg_database_size($1) AS size', [b.db]);
  return Number(row.size);
}

// Flushes both clusters' dirty buffers before each timed run, so that no run pays for the writes of the one before.
async function quiesce(b: Bench): Promise<void> {
  await b.source.query('CHECKPOINT');
  await b.drillServer.query('CHECKPOINT');
}

// Proves the bare restore restored the data, then drops it; the DROP is timed for the report, not for a ratio.
async function checkAndDropBare(b: Bench): Promise<number> {
  const [table, rows] = b.opts.dataset === 'pgbench' ? ['pgbench_accounts', b.opts.scale * 100_000] : ['tenk1', 10_000];
  const [row] = await queryIn<{ n: string }>(b.drillServer.url(BARE_DB), `SELECT count(*) AS n FROM ${table}`);
  if (Number(row.n) !== rows) throw new Error(`the bare restore has ${row.n} ${table} rows, expected ${rows}`);
  const started = process.hrtime.bigint();
  await b.drillServer.query(`DROP DATABASE ${BARE_DB} WITH (FORCE)`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

interface RoundResult {
  samples: DrillBenchSample[];
  drills: DrillRound[];
  dropSeconds: number;
  hashDumpBytes: number;
}

// One round: the three backups in a rotating order, then the bare restore and the drills of this round's hash
// and count backups in a rotating order.
async function runRound(b: Bench, round: number): Promise<RoundResult> {
  const samples: DrillBenchSample[] = [];
  const record = (op: string, load1: number, m: { seconds: number; peakRssKb?: number }) => {
    samples.push({ round, op, seconds: m.seconds, peakRssKb: m.peakRssKb, load1 });
    log(`round ${round}/${b.opts.rounds}: ${op} ${m.seconds.toFixed(2)} s${m.peakRssKb ? `, peak RSS ${(m.peakRssKb / 1024).toFixed(0)} MB` : ''}, load ${load1.toFixed(2)}`);
  };
  const sets: Partial<Record<Fingerprint, { backupId: string; dump: string }>> = {};
  for (const fp of rotate<Fingerprint>(['none', 'count', 'hash'], round - 1)) {
    await quiesce(b);
    const load1 = os.loadavg()[0];
    const m = await runBackup(backup(b, b.repoDir, fp), b.repoDir);
    record(`backup-${fp}`, load1, m);
    sets[fp] = m;
  }
  const dump = sets.hash!.dump;
  if (!fs.existsSync(dump)) throw new Error(`the hash backup's dump is not where the repository layout puts it: ${dump}`);
  const drills: DrillRound[] = [];
  let dropSeconds = 0;
  for (const op of rotate(['pg_restore', 'drill', 'drill-count'], round - 1)) {
    await quiesce(b);
    const load1 = os.loadavg()[0];
    if (op === 'pg_restore') {
      const created = await measure(tool(b, b.drillServer, 'createdb', [BARE_DB]));
      const restored = await measure(tool(b, b.drillServer, 'pg_restore', ['-j', '2', '-d', BARE_DB, dump]));
      record(op, load1, { seconds: created.seconds + restored.seconds });
      dropSeconds = await checkAndDropBare(b);
    } else {
      const fingerprint = op === 'drill' ? 'hash' : 'count';
      const { backupId } = sets[fingerprint]!;
      const r = await runDrill(b, drill(b, b.repoDir, backupId), round, backupId, fingerprint);
      record(op, load1, r.m);
      if (r.drill.result !== 'pass') log(`round ${round}: the ${fingerprint} drill of ${backupId} did NOT pass (${r.drill.result}): ${r.drill.failed.join('; ')}`);
      drills.push(r.drill);
    }
  }
  return { samples, drills, dropSeconds, hashDumpBytes: fs.statSync(dump).size };
}

// The targets the run missed, as short phrases; a drill that did not pass is one of them.
function missedTargets(report: Pick<DrillBenchReport, 'rows' | 'drills'>): string[] {
  const missed: string[] = [];
  missed.push(...missedRatios(report.rows));
  for (const d of report.drills) if (d.result !== 'pass') missed.push(`round ${d.round}: drill result "${d.result}" (${d.failed.join('; ')})`);
  return missed;
}

async function run(opts: DrillBenchOptions, cleanups: Cleanups): Promise<{ json: string; markdown: string }> {
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  const bin = pgBinDir();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-bench-drill-'));
  cleanups.add(`remove ${tmp}`, () => fs.rmSync(tmp, { recursive: true, force: true }));
  log(`starting two PostgreSQL clusters: the source${opts.dataset === 'regression' ? ' (a copy of the regression corpus)' : ''} and the drill server`);
  const source = await startCluster(opts.dataset === 'regression' ? { fromData: regressionCorpus().data } : {});
  cleanups.add('stop the source cluster', () => source.stop());
  const drillServer = await startCluster();
  cleanups.add('stop the drill server', () => drillServer.stop());
  // runs first: a child still running (after a failure or a signal) must not outlive the clusters
  cleanups.add('stop running children', () => running.forEach((c) => c.kill('SIGTERM')));
  const launcher = prepareLauncher(ROOT);
  log(`pgops runs from: ${launcher.entry}`);
  const b: Bench = { opts, db: opts.dataset === 'regression' ? 'regression' : 'pgbench', source, drillServer, tmp, repoDir: path.join(tmp, 'repo'), bin, launcher, env: cleanEnv() };

  await warmUp(b);
  await initRepo(b, b.repoDir);
  const databaseBytes = await buildDatabase(b);
  const samples: DrillBenchSample[] = [];
  const drills: DrillRound[] = [];
  const bareDropSeconds: number[] = [];
  let hashDumpBytes = 0;
  for (let round = 1; round <= opts.rounds; round++) {
    const r = await runRound(b, round);
    samples.push(...r.samples);
    drills.push(...r.drills);
    bareDropSeconds.push(r.dropSeconds);
    hashDumpBytes = r.hashDumpBytes;
  }

  const rows = summarise(OPS, samples);
  const peakRssMb = Math.max(...rows.flatMap((r) => (r.peakRssMb === undefined ? [] : [r.peakRssMb])));
  const report: DrillBenchReport = {
    benchmark: 'drill',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, postgres: execFileSync(path.join(bin, 'pg_restore'), ['--version'], { encoding: 'utf8' }).trim(), loadAverage: { start: loadAtStart, end: os.loadavg() } },
    pgops: { entry: entryAfterRun(ROOT, launcher), commit: gitCommit(ROOT) },
    options: { dataset: opts.dataset, scale: opts.scale, rounds: opts.rounds },
    targets: TARGETS,
    database: { bytes: databaseBytes, hashDumpBytes },
    samples,
    rows,
    drills,
    bareDropSeconds,
    peakRssMb,
    missed: [],
  };
  report.missed = missedTargets(report);
  process.stdout.write(formatDrillText(report, baselineLabel));
  return writeDrillResults(report, baselineLabel, RESULTS);
}

await runBenchmark(process.argv.slice(2), { usage: DRILL_USAGE, parse: parseDrillArgs, run });
