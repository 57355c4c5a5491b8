#!/usr/bin/env -S node --import tsx
// Benchmark: what archive_command costs per WAL segment: cp + sync, pgBackRest's archive-push and pgops wal push
// (file and S3), on the same real segments, interleaved in one run (bench/README.md).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateIdentity } from '../lib/age/index.ts';
import { startCluster, SUPERUSER, type Cluster } from '../test/support/cluster.ts';
import { startS3Server, type S3Server } from '../test/support/s3.ts';
import { parseWalArgs, WAL_USAGE, type WalBenchOptions } from './lib/args.ts';
import { entryAfterRun, prepareWalLauncher, walBundleCurrent, type PgopsLauncher } from './lib/bundle.ts';
import type { Cleanups } from './lib/cleanup.ts';
import { log, RESULTS, ROOT, runBenchmark } from './lib/main.ts';
import { missedRatios } from './lib/report.ts';
import { measure, running, type Command } from './lib/measure.ts';
import { cleanEnv, gitCommit } from './lib/setup.ts';
import { median, rotate } from './lib/stats.ts';
import { formatWalText, missedCosts, summariseWal, summariseWalCosts, writeWalResults, type StartupRow, type WalCostSpec, type WalOp, type WalReport, type WalSample } from './lib/wal-report.ts';

const SEGMENT_BYTES = 16 * 1024 * 1024;
const MAX_RATIO = 1.5;
const MAX_ENCRYPTION_MS = 5;
const AGE_MAGIC = 'age-encryption.org/v1\n';

const OPS: WalOp[] = [
  { id: 'cp', label: 'cp + sync (bare)' },
  { id: 'pgbackrest', label: 'pgBackRest archive-push, posix, compress-type=none' },
  { id: 'pgops-file', label: 'pgops wal push -> file repository', baseline: 'pgbackrest', maxRatio: MAX_RATIO },
  { id: 'pgops-file-age', label: 'pgops wal push -> file repository, age-encrypted', baseline: 'pgbackrest' },
  { id: 'pgbackrest-gz', label: 'pgBackRest archive-push, posix, gz level 1' },
  { id: 'pgops-file-gzip', label: 'pgops wal push -> file, --wal-compress gzip', baseline: 'pgbackrest-gz' },
  { id: 'pgops-s3', label: 'pgops wal push -> S3 (s3rver)', baseline: 'pgbackrest' },
];

// the same push into the same kind of repository, once encrypted to an age recipient and once not
const COSTS: WalCostSpec[] = [
  { id: 'encryption', label: 'age encryption: encrypted - plain file push, same segment', op: 'pgops-file-age', baseline: 'pgops-file', maxMedianMs: MAX_ENCRYPTION_MS },
];

interface Bench {
  cluster: Cluster;
  s3: S3Server;
  tmp: string;
  launcher: PgopsLauncher;
  env: NodeJS.ProcessEnv;
  systemId: string;
  /** the encrypted repositories' recipient, and the identity file that reads them (the untimed check only) */
  age: { recipient: string; identityFile: string };
}

// Our environment without PG*, PGOPS_*, AWS_* and DATABASE_URL (only the flags count), and without NODE_OPTIONS and
// NODE_EXTRA_CA_CERTS: archive_command inherits the server's environment, which has neither as a rule, and a CA bundle
// read at every node start costs more than the whole push of a C program (the start-up rows show it when it is set).
function walEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(cleanEnv()).filter(([k]) => k !== 'NODE_OPTIONS' && k !== 'NODE_EXTRA_CA_CERTS'));
}

// pgBackRest from PATH; installed with apt-get when missing and we may.
function ensurePgBackRest(): string {
  const which = () => spawnSync('sh', ['-c', 'command -v pgbackrest'], { encoding: 'utf8' }).stdout.trim();
  if (which()) return which();
  if (process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
    log('pgbackrest not found: apt-get install -y pgbackrest');
    execFileSync('apt-get', ['install', '-y', '-qq', 'pgbackrest'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (which()) return which();
  }
  throw new Error('pgbackrest not found: install it (Debian/Ubuntu: apt-get install pgbackrest) and run again');
}

// Real segments: rows inserted and the segment switched until `count` segments are archived into a staging folder.
async function makeSegments(cluster: Cluster, staging: string, count: number): Promise<string[]> {
  await cluster.query('CREATE TABLE bench (id bigint, payload text, n numeric)');
  const ready = () => fs.readdirSync(staging).filter((f) => /^[0-9A-F]{24}$/.test(f)).sort();
  const deadline = Date.now() + 120_000 + count * 5_000;
  for (let i = 0; ready().length < count + 1; i++) {
    if (Date.now() > deadline) throw new Error(`only ${ready().length} of ${count + 1} segments were archived into ${staging}: see ${cluster.dir}/server.log`);
    await cluster.query(`INSERT INTO bench SELECT g, md5(g::text) || repeat(chr(65 + (g % 26)::int), (g % 64)::int), g * 1.5 FROM generate_series($1::bigint, $1::bigint + 99999) g`, [i * 100_000]);
    if (i % 2 === 1) await cluster.query('UPDATE bench SET n = n + 1 WHERE id % 7 = 0');
    await cluster.query('SELECT pg_switch_wal()');
    await new Promise((r) => setTimeout(r, 50));
  }
  // the newest segments; the first of the cluster holds initdb's WAL, which compresses unlike the rest
  return ready().slice(-count).map((f) => path.join(staging, f));
}

// A pgBackRest configuration with its own repository and stanza, created against the cluster.
function pgBackRestStanza(b: Bench, name: string, compress: string[]): string {
  const dir = path.join(b.tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'pgbackrest.conf');
  fs.writeFileSync(
    config,
    [
      '[global]',
      `repo1-path=${dir}/repo`,
      `log-path=${dir}/log`,
      `lock-path=${dir}/lock`,
      `spool-path=${dir}/spool`,
      'log-level-console=warn',
      'log-level-file=off',
      'archive-async=n',
      ...compress,
      '[bench]',
      `pg1-path=${b.cluster.dir}/data`,
      `pg1-socket-path=${b.cluster.dir}`,
      `pg1-port=${b.cluster.port}`,
      `pg1-user=${SUPERUSER}`,
      '',
    ].join('\n'),
  );
  execFileSync('pgbackrest', [`--config=${config}`, '--stanza=bench', 'stanza-create'], { env: b.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return config;
}

const SYNC: Command = { file: 'sync', args: [], env: { PATH: process.env.PATH } };

const pgops = (b: Bench, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Command => ({ file: process.execPath, args: [...b.launcher.nodeArgs, ...args], env: { ...b.env, ...extraEnv } });

// The command of each operation for one segment, into the round's own repositories.
function commandsFor(b: Bench, round: number, segment: string): Record<string, Command> {
  const dir = (name: string) => path.join(b.tmp, `r${round}-${name}`);
  const cpDest = path.join(dir('cp'), path.basename(segment));
  return {
    cp: { file: 'sh', args: ['-c', 'cp "$1" "$2" && sync "$2"', 'sh', segment, cpDest], env: b.env },
    pgbackrest: { file: 'pgbackrest', args: [`--config=${path.join(dir('pgbr'), 'pgbackrest.conf')}`, '--stanza=bench', 'archive-push', segment], env: b.env },
    'pgbackrest-gz': { file: 'pgbackrest', args: [`--config=${path.join(dir('pgbr-gz'), 'pgbackrest.conf')}`, '--stanza=bench', 'archive-push', segment], env: b.env },
    'pgops-file': pgops(b, ['wal', 'push', segment, '--repo', `file://${dir('pgops')}`]),
    'pgops-file-age': pgops(b, ['wal', 'push', segment, '--repo', `file://${dir('pgops-age')}`]),
    'pgops-file-gzip': pgops(b, ['wal', 'push', segment, '--repo', `file://${dir('pgops-gz')}`, '--wal-compress', 'gzip']),
    'pgops-s3': pgops(b, ['wal', 'push', segment, '--repo', b.s3.repoUrl(`r${round}`), '--s3-endpoint', b.s3.endpoint, '--s3-path-style', '--s3-checksum', 'when-required'], b.s3.env),
  };
}

// Fresh repositories for a round: a folder for cp, initialised pgops repositories, a stanza for each pgBackRest variant.
function prepareRound(b: Bench, round: number): void {
  fs.mkdirSync(path.join(b.tmp, `r${round}-cp`), { recursive: true });
  // wal push refuses a repository that `pgops repo init` did not make one (untimed, like the stanzas)
  const init = (repo: string[], env: NodeJS.ProcessEnv = {}) =>
    execFileSync(process.execPath, [path.join(ROOT, 'bin/pgops.js'), 'repo', 'init', '--repo', ...repo], { env: { ...b.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  init([`file://${path.join(b.tmp, `r${round}-pgops`)}`]);
  init([`file://${path.join(b.tmp, `r${round}-pgops-gz`)}`]);
  // writers of an encrypted repository need only its recipient, recorded here
  init([`file://${path.join(b.tmp, `r${round}-pgops-age`)}`, '--encrypt-to', b.age.recipient]);
  init([b.s3.repoUrl(`r${round}`), '--s3-endpoint', b.s3.endpoint, '--s3-path-style', '--s3-checksum', 'when-required'], b.s3.env);
  pgBackRestStanza(b, `r${round}-pgbr`, ['compress-type=none']);
  pgBackRestStanza(b, `r${round}-pgbr-gz`, ['compress-type=gz', 'compress-level=1']);
}

// Proves (untimed) that the round's encrypted repository holds the segment as an age file, and that wal fetch with
// the identity gives back the segment's bytes: pushes that stored it plain, or unreadable, would measure nothing.
async function checkEncrypted(b: Bench, round: number, segment: string): Promise<void> {
  const name = path.basename(segment);
  const repo = path.join(b.tmp, `r${round}-pgops-age`);
  const stored = fs.readFileSync(path.join(repo, 'wal', b.systemId, name));
  if (stored.subarray(0, AGE_MAGIC.length).toString('latin1') !== AGE_MAGIC) throw new Error(`${name} in ${repo} is not an age file: wal push did not encrypt`);
  const fetched = path.join(b.tmp, `r${round}-fetched-${name}`);
  await measure(pgops(b, ['wal', 'fetch', name, fetched, '--repo', `file://${repo}`, '--system-id', b.systemId, '--identity', b.age.identityFile]));
  const same = fs.readFileSync(fetched).equals(fs.readFileSync(segment));
  fs.rmSync(fetched);
  if (!same) throw new Error(`wal fetch of ${name} from the encrypted repository ${repo} gave other bytes than the segment`);
}

// Every segment pushed by every operation, in an order that changes per segment and round.
async function runRound(b: Bench, round: number, segments: string[]): Promise<WalSample[]> {
  prepareRound(b, round);
  // the segments come from the page cache for every tool alike
  for (const s of segments) fs.readFileSync(s);
  const samples: WalSample[] = [];
  for (const [i, segment] of segments.entries()) {
    const commands = commandsFor(b, round, segment);
    // rotated per segment and round, and reversed every other segment, so that no tool always follows the same one
    const order = rotate(OPS.map((o) => o.id), i + round);
    if (i % 2 === 1) order.reverse();
    for (const op of order) {
      // untimed: flush what earlier pushes left in the page cache, so that no push waits for another one's writes
      await measure(SYNC);
      const load1 = os.loadavg()[0];
      const m = await measure(commands[op]);
      samples.push({ round, segment: path.basename(segment), op, seconds: m.seconds, load1 });
    }
    if ((i + 1) % 8 === 0 || i === segments.length - 1) {
      const last = samples.slice(-OPS.length).map((s) => `${s.op} ${(s.seconds * 1000).toFixed(0)}`).join(', ');
      log(`round ${round}: ${i + 1}/${segments.length} segments (ms: ${last}; load ${os.loadavg()[0].toFixed(2)})`);
    }
  }
  await checkEncrypted(b, round, segments[0]);
  return samples;
}

// Start-up without archiving anything: bare node, the full CLI, and the wal fetch path answering "not found".
async function startup(b: Bench): Promise<StartupRow[]> {
  const repo = `file://${path.join(b.tmp, 'r1-pgops')}`;
  const missing = path.join(b.tmp, 'missing-dest');
  const pgbrConfig = path.join(b.tmp, 'r1-pgbr', 'pgbackrest.conf');
  // through the bin, like the pushes: wal fetch from dist/wal.cjs, --version from dist/main.js (after a walk of lib/ that
  // checks the bundle is current)
  const cases: [string, Command, number[]][] = [
    ['node -e "" (bare node)', { file: process.execPath, args: ['-e', ''], env: b.env }, [0]],
    ...(process.env.NODE_EXTRA_CA_CERTS
      ? [['node -e "" with this machine\'s NODE_EXTRA_CA_CERTS', { file: process.execPath, args: ['-e', ''], env: { ...b.env, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } }, [0]] as [string, Command, number[]]]
      : []),
    ['pgops --version (the full CLI, yargs)', pgops(b, ['--version']), [0]],
    ['pgops wal fetch <missing> (exit 5)', pgops(b, ['wal', 'fetch', 'FFFFFFFF00000000000000FF', missing, '--repo', repo, '--system-id', b.systemId]), [5]],
    ['pgbackrest archive-get <missing> (exit 1)', { file: 'pgbackrest', args: [`--config=${pgbrConfig}`, '--stanza=bench', 'archive-get', 'FFFFFFFF00000000000000FF', missing], env: b.env }, [1]],
  ];
  // interleaved, so that a machine's drift touches every row alike
  const ms: number[][] = cases.map(() => []);
  for (let i = 0; i < 31; i++) {
    for (const [k, [, cmd, okCodes]] of cases.entries()) ms[k].push((await measure(cmd, { okCodes })).seconds * 1000);
  }
  return cases.map(([label], k) => ({ label, medianMs: median(ms[k]), minMs: Math.min(...ms[k]) }));
}

async function run({ segments, rounds }: WalBenchOptions, cleanups: Cleanups): Promise<{ json: string; markdown: string }> {
  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg();
  const pgbackrest = ensurePgBackRest();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-bench-wal-'));
  // the server (as postgres) copies segments into tmp/staging
  fs.chmodSync(tmp, 0o755);
  cleanups.add(`remove ${tmp}`, () => fs.rmSync(tmp, { recursive: true, force: true }));
  const staging = path.join(tmp, 'staging');
  fs.mkdirSync(staging, { mode: 0o777 });
  fs.chmodSync(staging, 0o777);
  log('starting a PostgreSQL cluster (archive_command = cp into a staging folder) and an S3 server');
  const cluster = await startCluster({ settings: { wal_level: 'replica', archive_mode: 'on', archive_command: `cp %p ${staging}/%f` } });
  cleanups.add('stop the PostgreSQL cluster', () => cluster.stop());
  const s3 = await startS3Server('pgops-bench-wal');
  cleanups.add('stop the S3 server', () => s3.stop());
  cleanups.add('stop running children', () => running.forEach((c) => c.kill('SIGTERM')));
  const launcher = prepareWalLauncher(ROOT);
  log(`pgops runs from: ${launcher.entry}; pgBackRest: ${pgbackrest}`);
  const systemId = (await cluster.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()'))[0].id;
  const { identity, recipient } = generateIdentity();
  const identityFile = path.join(tmp, 'age-identity.txt');
  fs.writeFileSync(identityFile, `# bench:wal's key, made for this run\n${identity}\n`, { mode: 0o600 });
  const b: Bench = { cluster, s3, tmp, launcher, env: walEnv(), systemId, age: { recipient, identityFile } };

  log(`generating ${segments} WAL segments`);
  const segs = await makeSegments(cluster, staging, segments);
  log('warm-up: one untimed push with every tool');
  const warm = commandsFor(b, 0, segs[0]);
  prepareRound(b, 0);
  for (const op of OPS) await measure(warm[op.id]);
  await checkEncrypted(b, 0, segs[0]);

  const samples: WalSample[] = [];
  for (let round = 1; round <= rounds; round++) samples.push(...(await runRound(b, round, segs)));
  log('start-up');
  const start = await startup(b);

  const rows = summariseWal(OPS, samples);
  const costs = summariseWalCosts(COSTS, samples);
  const report: WalReport = {
    benchmark: 'wal',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      postgres: execFileSync('pg_config', ['--version'], { encoding: 'utf8' }).trim(),
      pgbackrest: execFileSync('pgbackrest', ['version'], { encoding: 'utf8' }).trim(),
      loadAverage: { start: loadAtStart, end: os.loadavg() },
    },
    // a source edited during the run would have sent later pushes through tsx: that counts as a rebuild
    pgops: { entry: entryAfterRun(ROOT, launcher, !walBundleCurrent(ROOT)), commit: gitCommit(ROOT) },
    options: { segments, rounds, segmentBytes: SEGMENT_BYTES },
    rows,
    costs,
    startup: start,
    samples,
    missed: [...missedRatios(rows), ...missedCosts(costs)],
  };
  process.stdout.write(formatWalText(report, OPS));
  return writeWalResults(report, OPS, RESULTS);
}

await runBenchmark(process.argv.slice(2), { usage: WAL_USAGE, parse: parseWalArgs, run });
