#!/usr/bin/env -S node --import tsx
// Benchmark: pgops basebackup against bare pg_basebackup and pgBackRest's full backup, pgops recover against
// pgBackRest's restore plus the same replay, and drill --pitr against recover, on the same database, interleaved in one
// run (bench/README.md).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileArchive, type ArchiveRepo } from '../test/support/archiving.ts';
import { jsonData } from '../test/support/cli.ts';
import { freePort, startCluster, SUPERUSER, type Cluster } from '../test/support/cluster.ts';
import { switchWal, waitArchived } from '../test/support/wal.ts';
import { entryAfterRun, prepareLauncher, walBundleCurrent, type PgopsLauncher } from './lib/bundle.ts';
import type { Cleanups } from './lib/cleanup.ts';
import { log, RESULTS, ROOT, runBenchmark } from './lib/main.ts';
import { measure, running, type Command, type Measurement } from './lib/measure.ts';
import { measureTree } from './lib/pitr-measure.ts';
import { parsePitrArgs, PITR_USAGE, type PitrBenchOptions } from './lib/pitr-args.ts';
import { FINGERPRINT_SQL, generateData, gzip1Ratio, runWorkload } from './lib/pitr-data.ts';
import { estimateFetches, fetchLatency, restoredCount } from './lib/pitr-fetch.ts';
import { ensurePgBackRest, PGBACKREST_SETTINGS, pgBackRestFor, type PgBackRest } from './lib/pitr-pgbackrest.ts';
import { BACKUP_PHASES, DRILL_PHASES, drillParts, PGBACKREST_RESTORE_PHASES, RECOVER_PHASES, recoverParts } from './lib/pitr-phases.ts';
import { formatPitrText, partsFromLog, phaseTable, ratiosOf, summariseOps, writePitrResults, type PitrComparison, type PitrOp, type PitrReport, type PitrSample } from './lib/pitr-report.ts';
import { queryRecovered, recoveryLines, replayTimeline, startUntilPromoted, stopAndRemove } from './lib/pitr-server.ts';
import { cleanEnv, gitCommit, pgBinDir } from './lib/setup.ts';
import { rotate } from './lib/stats.ts';

const DB = 'app';
const TARGETS = { basebackupVsBare: 1.05, basebackupVsPgBackRest: 1.0, recoverVsPgBackRest: 1.1 };
const RECOVERY_TIMEOUT_MS = 20 * 60_000;
/** pgops's exit code for a drill that ran and found a problem (lib/errors.ts ExitCode.FAILED) */
const DRILL_FAILED_EXIT = 2;

const OPS: PitrOp[] = [
  { id: 'basebackup', label: 'pgops basebackup -> file repository', pgops: true },
  { id: 'pg_basebackup', label: 'pg_basebackup -Ft -X none -c fast -D DIR (bare)', pgops: false },
  { id: 'pg_basebackup-sha256', label: 'the same with --manifest-checksums=SHA256, as pgops runs it', pgops: false },
  { id: 'pgbackrest-backup', label: 'pgbackrest backup --type=full (process-max 2, no compression)', pgops: false },
  { id: 'recover', label: 'pgops recover --target latest --start, until promoted', pgops: true },
  { id: 'pgbackrest-restore', label: 'pgbackrest restore + pg_ctl start, until promoted', pgops: false },
  { id: 'drill', label: 'pgops drill --pitr (recover, checks, clean-up)', pgops: true },
];
const BACKUP_OPS = ['basebackup', 'pg_basebackup', 'pg_basebackup-sha256', 'pgbackrest-backup'];
const RECOVERY_OPS = ['recover', 'pgbackrest-restore', 'drill'];

const COMPARISONS: PitrComparison[] = [
  { label: 'pgops basebackup / bare pg_basebackup', op: 'basebackup', baseline: 'pg_basebackup', maxRatio: TARGETS.basebackupVsBare },
  { label: 'pgops basebackup / pgBackRest full backup', op: 'basebackup', baseline: 'pgbackrest-backup', maxRatio: TARGETS.basebackupVsPgBackRest },
  { label: 'pgops basebackup / pg_basebackup with SHA256 manifest checksums', op: 'basebackup', baseline: 'pg_basebackup-sha256' },
  { label: 'pg_basebackup SHA256 / CRC32C manifest checksums (what SHA256 costs)', op: 'pg_basebackup-sha256', baseline: 'pg_basebackup' },
  { label: 'pgops recover / pgBackRest restore + replay', op: 'recover', baseline: 'pgbackrest-restore', maxRatio: TARGETS.recoverVsPgBackRest },
  { label: 'pgops drill --pitr / pgops recover', op: 'drill', baseline: 'recover' },
];

const SETTINGS = [
  `pgBackRest: ${PGBACKREST_SETTINGS.join(', ')}; repository a folder; run as the server's OS user (postgres), as archive_command and restore_command run`,
  'bare pg_basebackup and pgops basebackup: tar, -X none (the WAL comes from the archive), -c fast; pgops adds --manifest-checksums=SHA256 and sha256 of the stream into a file repository (fsynced); no compression anywhere',
  "archive_command pushes every segment with pgops wal push and then pgbackrest archive-push: both archives hold the same segments; each recovery replays them through its own tool's restore_command (pgops wal fetch, pgbackrest archive-get)",
  'recoveries: from a pgops base backup and a pgBackRest full backup taken back to back (untimed) before the workload; --target latest, archive_mode off; pgBackRest\'s timed from its restore\'s spawn until the server log says "database system is ready to accept connections" (polled every 20 ms), pgops\'s until recover exits (it polls the log every 50 ms)',
];

interface Bench {
  opts: PitrBenchOptions;
  source: Cluster;
  archive: ArchiveRepo;
  pgbr: PgBackRest;
  tmp: string;
  bin: string;
  launcher: PgopsLauncher;
  env: NodeJS.ProcessEnv;
  systemId: string;
  /** data directories of recovered servers that may still run: stopped and removed by the clean-up */
  live: Set<string>;
  /** where the recovered data directories go: the server user's, since pgBackRest restores as that user */
  recoveredDir: string;
  /** gzip -1 ratio of the first round's bare base tar */
  gzip1Ratio: number;
}

// --log-format json --verbose: the log entries (with their times) cut the run's wall time into phases
const pgops = (b: Bench, args: string[]): Command => ({ file: process.execPath, args: [...b.launcher.nodeArgs, ...args, '--json', '--log-format', 'json', '--verbose'], env: b.env });

function stdoutJson(m: Measurement, what: string): Record<string, unknown> {
  try {
    return jsonData(m.stdout);
  } catch {
    throw new Error(`${what} printed no JSON on stdout: ${m.stdout.slice(0, 500)}\n${m.stderr.slice(-2000)}`);
  }
}

const quiesce = async (b: Bench) => {
  // no run pays for the dirty buffers or the page-cache writes of the run before
  await b.source.query('CHECKPOINT');
  execFileSync('sync');
};

interface BackupRound {
  samples: PitrSample[];
  tarBytes: number;
}

// What the recoveries start from: a pgops base backup and, right after it, a pgBackRest full backup, and the
// segments they start in.
interface RecoverySources {
  pgops: { id: string; startSegment: string };
  pgbackrest: { label: string; startSegment: string };
}

// One round of the four backups in an order rotated by one place each round.
async function backupRound(b: Bench, round: number): Promise<BackupRound> {
  const samples: PitrSample[] = [];
  let tarBytes = 0;
  for (const op of rotate(BACKUP_OPS, round - 1)) {
    await quiesce(b);
    const load1 = os.loadavg()[0];
    if (op === 'basebackup') {
      const m = await measureTree(pgops(b, ['basebackup', '--db', b.source.url('postgres'), '--repo', b.archive.url]), { rss: true });
      const out = stdoutJson(m, 'pgops basebackup');
      if (typeof out.backupId !== 'string') throw new Error(`pgops basebackup exited 0 without an ok result: ${m.stdout.slice(0, 500)}`);
      tarBytes = Number(out.tarBytes);
      samples.push({ round, op, seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssKb: m.peakRssKb, load1, parts: partsFromLog(m.stderr, m.startedAtMs, m.seconds, BACKUP_PHASES) });
    } else if (op === 'pgbackrest-backup') {
      const m = await measureTree(b.pgbr.command(['--type=full', 'backup']));
      samples.push({ round, op, seconds: m.seconds, cpuSeconds: m.cpuSeconds, load1 });
    } else {
      const dir = path.join(b.tmp, `r${round}-${op}`);
      const sha = op === 'pg_basebackup-sha256' ? ['--manifest-checksums=SHA256'] : [];
      const m = await measureTree({ file: path.join(b.bin, 'pg_basebackup'), args: ['-h', '127.0.0.1', '-p', String(b.source.port), '-U', SUPERUSER, '-D', dir, '-Ft', '-X', 'none', '-c', 'fast', ...sha], env: b.env });
      samples.push({ round, op, seconds: m.seconds, cpuSeconds: m.cpuSeconds, load1 });
      if (round === 1 && op === 'pg_basebackup') b.gzip1Ratio = gzip1Ratio(path.join(dir, 'base.tar'));
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const s = samples.at(-1)!;
    log(`backup round ${round}/${b.opts.rounds}: ${op} ${s.seconds.toFixed(2)} s (CPU ${s.cpuSeconds?.toFixed(2)} s)${s.peakRssKb ? `, peak RSS ${(s.peakRssKb / 1024).toFixed(0)} MB` : ''}, load ${load1.toFixed(2)}`);
  }
  return { samples, tarBytes };
}

interface Recovered {
  samples: PitrSample[];
  recoveries: PitrReport['recoveries'];
}

// Proves the recovered server replayed the whole archive (the source's state after the workload), then stops and
// removes it.
async function checkRecovered(b: Bench, pgdata: string, port: number, expected: string, what: string): Promise<void> {
  try {
    const got = await queryRecovered(port, DB, FINGERPRINT_SQL);
    if (got !== expected) throw new Error(`${what} does not hold the source's state after the workload (events/max id/balance ${got}, expected ${expected}): it did not replay the same WAL to the end`);
  } finally {
    stopAndRemove(b.bin, pgdata, b.env);
    b.live.delete(pgdata);
  }
}

// One round of the recoveries in an order rotated by one place each round.
async function recoveryRound(b: Bench, round: number, from: RecoverySources, expected: string): Promise<Recovered> {
  const samples: PitrSample[] = [];
  const recoveries: PitrReport['recoveries'] = [];
  for (const op of rotate(RECOVERY_OPS, round - 1)) {
    execFileSync('sync');
    const load1 = os.loadavg()[0];
    // restore_command runs bin/pgops.js, which compiles the sources through tsx when one is newer than dist/wal.cjs
    if (!walBundleCurrent(ROOT)) log(`WARNING: dist/wal.cjs is older than its sources: this ${op} replays through tsx (a source changed during the run)`);
    if (op === 'recover') {
      const pgdata = path.join(b.recoveredDir, `r${round}-recover`);
      const port = await freePort();
      b.live.add(pgdata);
      const m = await measureTree(pgops(b, ['recover', '--repo', b.archive.url, '--pgdata', pgdata, '--backup', from.pgops.id, '--target', 'latest', '--start', '--port', String(port), '--archive-mode', 'off']), { rss: true });
      const out = stdoutJson(m, 'pgops recover');
      const recovery = (out.recovery ?? {}) as { restored?: number; logFile?: string };
      const timeline = replayTimeline(recovery.logFile ?? path.join(pgdata, 'recovery.log'), m.startedAtMs + m.seconds * 1000);
      samples.push({ round, op, seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssKb: m.peakRssKb, load1, parts: { ...recoverParts(m, out), ...timeline }, restored: recovery.restored ?? Number.NaN });
      await checkRecovered(b, pgdata, port, expected, 'the server pgops recover started');
      recoveries.push({ round, op, lines: pgopsRecoveryLines(out) });
    } else if (op === 'pgbackrest-restore') {
      const pgdata = path.join(b.recoveredDir, `r${round}-pgbackrest`);
      const logFile = path.join(b.recoveredDir, `r${round}-pgbackrest.log`);
      const port = await freePort();
      b.live.add(pgdata);
      const restore = await measureTree(b.pgbr.command(['restore', `--pg1-path=${pgdata}`, `--set=${from.pgbackrest.label}`, '--archive-mode=off', '--type=default']));
      const replay = await startUntilPromoted({ bin: b.bin, pgdata, port, logFile, env: b.env, timeoutMs: RECOVERY_TIMEOUT_MS });
      const timeline = replayTimeline(logFile, restore.startedAtMs + (restore.seconds + replay) * 1000);
      samples.push({ round, op, seconds: restore.seconds + replay, cpuSeconds: restore.cpuSeconds, load1, parts: { restore: restore.seconds, replay, ...timeline }, restored: restoredCount(logFile) });
      await checkRecovered(b, pgdata, port, expected, 'the server pgBackRest restored');
      recoveries.push({ round, op, lines: recoveryLines(logFile) });
    } else {
      const m = await measureTree(pgops(b, ['drill', '--pitr', '--repo', b.archive.url, '--backup', from.pgops.id]), { rss: true, okCodes: [0, DRILL_FAILED_EXIT] });
      const report = stdoutJson(m, 'pgops drill --pitr');
      const result = (report as { result?: unknown }).result ?? (report as { data?: { result?: unknown } }).data?.result;
      if (result !== 'pass') throw new Error(`pgops drill --pitr did not pass (result ${String(result)}): ${m.stdout.slice(0, 1500)}`);
      samples.push({ round, op, seconds: m.seconds, cpuSeconds: m.cpuSeconds, peakRssKb: m.peakRssKb, load1, parts: drillParts(m, report) });
    }
    const s = samples.at(-1)!;
    const parts = Object.entries(s.parts ?? {}).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
    log(`recovery round ${round}/${b.opts.rounds}: ${op} ${s.seconds.toFixed(2)} s (CPU ${s.cpuSeconds?.toFixed(2)} s)${parts ? ` (${parts})` : ''}${s.peakRssKb ? `, peak RSS ${(s.peakRssKb / 1024).toFixed(0)} MB` : ''}, load ${load1.toFixed(2)}`);
  }
  return { samples, recoveries };
}

// Where pgops recover says replay ended: its result's own account (the server log it read is in the data directory).
function pgopsRecoveryLines(out: Record<string, unknown>): string[] {
  const r = (out.recovery ?? {}) as { state?: string; lsn?: string; timeline?: number; lastTransactionTime?: string; restored?: number; lastRestored?: string };
  return [`${r.state} at ${r.lsn} on timeline ${r.timeline}`, `last transaction at ${r.lastTransactionTime}`, `${r.restored} WAL files restored, the last ${r.lastRestored}`];
}

// The backups the recoveries start from, untimed, right before the workload: a pgops base backup, then a pgBackRest
// full backup. Nothing runs between them: the pgops recovery replays only the one or two segments more that
// pgBackRest's backup itself switched (the heading counts both).
async function recoverySources(b: Bench): Promise<RecoverySources> {
  log('the backups the recoveries start from (untimed): pgops basebackup, then pgbackrest backup');
  await quiesce(b);
  const out = stdoutJson(await measure(pgops(b, ['basebackup', '--db', b.source.url('postgres'), '--repo', b.archive.url])), 'pgops basebackup');
  const pgopsStart = (out.start as { segment?: string } | undefined)?.segment;
  if (typeof out.backupId !== 'string' || !pgopsStart) throw new Error(`pgops basebackup printed no backup id and start segment: ${JSON.stringify(out).slice(0, 500)}`);
  await measure(b.pgbr.command(['--type=full', 'backup']));
  return { pgops: { id: out.backupId, startSegment: pgopsStart }, pgbackrest: b.pgbr.newestBackup() };
}

const segno = (name: string) => parseInt(name.slice(8, 16), 16) * 0x100 + parseInt(name.slice(16, 24), 16);

// The source: a cluster archiving every segment into both archives, pgBackRest's stanza, and the generated database.
async function setUp(opts: PitrBenchOptions, cleanups: Cleanups, tmp: string): Promise<Omit<Bench, 'launcher' | 'gzip1Ratio'> & { databaseBytes: number }> {
  const env = cleanEnv();
  const archive = await fileArchive();
  cleanups.add('remove the pgops repository', () => archive.cleanup());
  const pgbrDir = path.join(tmp, 'pgbackrest');
  // the cluster's port and folder go into pgBackRest's configuration: it is written once the cluster is up, and
  // archive_command reads it only when the first segment is archived (after stanza-create)
  const pgbrConfig = path.join(pgbrDir, 'pgbackrest.conf');
  log('starting a PostgreSQL cluster that archives into a pgops repository and a pgBackRest stanza');
  const source = await startCluster({
    settings: {
      wal_level: 'replica',
      archive_mode: 'on',
      archive_command: `${archive.archiveCommand} && pgbackrest --config=${pgbrConfig} --stanza=bench archive-push %p`,
      // production's setting: replay then has the full-page images a real workload writes
      full_page_writes: 'on',
      max_wal_size: '1GB',
    },
  });
  cleanups.add('stop the source cluster', () => source.stop());
  const pgbr = pgBackRestFor(source, pgbrDir, env);
  if (pgbr.config !== pgbrConfig) throw new Error(`pgBackRest's configuration is at ${pgbr.config}, not ${pgbrConfig}`);
  pgbr.createStanza();
  const [{ id: systemId }] = await source.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
  await waitArchived(source, await switchWal(source), 120_000);
  log(`generating the database (${opts.sizeMb} MB)`);
  await source.query(`CREATE DATABASE ${DB}`);
  const databaseBytes = await generateData(source, DB, opts.sizeMb, log);
  await waitArchived(source, await switchWal(source), 300_000);
  const recoveredDir = path.join(tmp, 'recovered');
  fs.mkdirSync(recoveredDir, { mode: 0o755 });
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', recoveredDir]);
  return { opts, source, archive, pgbr, tmp, recoveredDir, bin: pgBinDir(), env, systemId, live: new Set(), databaseBytes };
}

async function run(opts: PitrBenchOptions, cleanups: Cleanups): Promise<{ json: string; markdown: string }> {
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  const pgbackrest = ensurePgBackRest();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-bench-pitr-'));
  // the server user reads and writes in here (pgBackRest, the recovered data directories)
  fs.chmodSync(tmp, 0o755);
  cleanups.add(`remove ${tmp}`, () => fs.rmSync(tmp, { recursive: true, force: true }));
  const launcher = prepareLauncher(ROOT);
  log(`pgops runs from: ${launcher.entry}; pgBackRest: ${pgbackrest}`);
  const set = await setUp(opts, cleanups, tmp);
  const b: Bench = { ...set, launcher, gzip1Ratio: Number.NaN };
  cleanups.add('stop the recovered servers', () => b.live.forEach((d) => stopAndRemove(b.bin, d, b.env)));
  // runs first: a child still running (after a failure or a signal) must not outlive the clusters
  cleanups.add('stop running children', () => running.forEach((c) => c.kill('SIGTERM')));

  log('warm-up, untimed: one pgops base backup and one pgBackRest backup');
  await measure(pgops(b, ['basebackup', '--db', b.source.url('postgres'), '--repo', b.archive.url]));
  await measure(b.pgbr.command(['--type=full', 'backup']));

  const samples: PitrSample[] = [];
  let last: BackupRound | undefined;
  for (let round = 1; round <= opts.rounds; round++) {
    last = await backupRound(b, round);
    samples.push(...last.samples);
  }
  const from = await recoverySources(b);
  log(`workload: about ${opts.walMb} MB of WAL after the base backups`);
  const walWritten = await runWorkload(b.source, DB, opts.walMb);
  const expected = (await b.source.query<{ f: string }>(FINGERPRINT_SQL, [], DB))[0].f;
  const endSegment = await switchWal(b.source);
  await waitArchived(b.source, endSegment, 600_000);

  const recoveries: PitrReport['recoveries'] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const r = await recoveryRound(b, round, from, expected);
    samples.push(...r.samples);
    recoveries.push(...r.recoveries);
  }
  log('restore_command latency: one segment, 11 times each');
  const fetch = await fetchLatency({ tmp: b.tmp, segment: endSegment, repoUrl: b.archive.url, systemId: b.systemId, pgbr: b.pgbr, env: b.env });
  estimateFetches(samples, fetch);

  const report: PitrReport = {
    benchmark: 'pitr',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      postgres: execFileSync(path.join(b.bin, 'pg_basebackup'), ['--version'], { encoding: 'utf8' }).trim(),
      pgbackrest: execFileSync('pgbackrest', ['version'], { encoding: 'utf8' }).trim(),
      loadAverage: { start: loadAtStart, end: os.loadavg() },
    },
    // restore_command and archive_command run bin/pgops.js, which falls back to tsx when a source is newer than dist/
    pgops: { entry: entryAfterRun(ROOT, launcher, !walBundleCurrent(ROOT)), commit: gitCommit(ROOT) },
    options: opts,
    targets: TARGETS,
    settings: SETTINGS,
    database: { bytes: set.databaseBytes, tarBytes: last!.tarBytes, gzip1Ratio: b.gzip1Ratio, walBytes: walWritten, walSegments: { pgops: segno(endSegment) - segno(from.pgops.startSegment) + 1, pgbackrest: segno(endSegment) - segno(from.pgbackrest.startSegment) + 1 } },
    fetch,
    samples,
    ops: summariseOps(OPS, samples),
    ratios: ratiosOf(COMPARISONS, samples),
    phases: [
      phaseTable('pgops basebackup, where the time goes', 'basebackup', BACKUP_PHASES, samples),
      phaseTable('pgops recover, where the time goes', 'recover', RECOVER_PHASES, samples),
      phaseTable('pgBackRest restore + replay, where the time goes', 'pgbackrest-restore', PGBACKREST_RESTORE_PHASES, samples),
      phaseTable('pgops drill --pitr, where the time goes', 'drill', DRILL_PHASES, samples),
    ],
    recoveries,
    missed: [],
  };
  report.missed = report.ratios.filter((r) => r.pass === false).map((r) => `${r.label} ${r.ratio.toFixed(2)}x > ${r.maxRatio!.toFixed(2)}x`);
  process.stdout.write(formatPitrText(report));
  return writePitrResults(report, RESULTS);
}

await runBenchmark(process.argv.slice(2), { usage: PITR_USAGE, parse: parsePitrArgs, run });
