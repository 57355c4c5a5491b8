import type { ReplayStop } from '../../repo/pitr-drill-reports.ts';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { formatDuration } from '../../units.ts';
import type { Repo } from '../../repo/repo.ts';
import { asUser } from './os-user.ts';
import type { RecoveryPlan } from './plan.ts';
import { replayState } from './replay-state.ts';
import { ServerLogReader, type LogFacts } from './server-log.ts';
import { spoolForPlan, type Spool, type SpoolStats } from './spool.ts';
import { describeTarget, type RecoveryTarget, type TargetAction } from './target.ts';
import { serverBinDir, toolIn } from './tools.ts';

const run = promisify(execFile);

// How a recovery ended, and where replay stopped.
// (reached: the target was reached and the server did what --target-action says, latest: the end of the archive;
// reason: the server log's FATAL/recovery lines when it failed, restore_command's exit 128 naming a segment, a target
// not reached)
export interface RecoveryEnd extends ReplayStop {
  logFile: string;
  /** the log's "recovery stopping ..." line */
  stopping?: string;
  /** WAL files restore_command delivered, and the last one */
  restored: number;
  lastRestored?: string;
  replayMs: number;
  /** what the spool did, when one fetched ahead (of restored: served came from it, the rest through wal fetch) */
  spool?: SpoolStats;
}

// What runRecovery starts and waits for.
export interface RunRecoveryOptions {
  pgdata: string;
  port: number;
  osUser: string;
  pgBin?: string;
  action: TargetAction;
  target: RecoveryTarget;
  timeoutMs: number;
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  log: Logger;
  extraSettings?: Record<string, string>;
  /** default: <pgdata>/recovery.log */
  logFile?: string;
  /**
   * fetch the plan's WAL ahead into <pgdata>/pgops_spool/ while the server replays (spool.ts); restore_command must
   * be written with that folder (restoreCommandFor's spool)
   */
  spool?: { repo: Repo; plan: RecoveryPlan };
}

// how often the wait reads the server's log and postmaster.pid: a few file reads, and the moment the server is ready
// is seen within this (at 250 ms, bench:pitr's recover waited 0.22 s on average after "ready to accept connections")
const POLL_MS = 50;
// a postmaster that has not written postmaster.pid by then did not start
const START_MS = 60_000;

// The postmaster's pid from postmaster.pid, when the file exists.
function postmasterPid(pgdata: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

// True when the process lives and is a postgres (not another process that got a dead postmaster's pid).
function postgresAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /postgres|postmaster/.test(cmd);
  } catch {
    return !fs.existsSync('/proc/self');
  }
}

// True when pgdata holds a postmaster.pid whose process is alive.
export function serverRunning(pgdata: string): boolean {
  const pid = postmasterPid(pgdata);
  return pid !== undefined && postgresAlive(pid);
}

// The major version a data directory's PG_VERSION names.
function majorOfDataDir(pgdata: string): number {
  return Number(fs.readFileSync(path.join(pgdata, 'PG_VERSION'), 'utf8').trim());
}

// One -c option of the -o string pg_ctl hands to the shell that starts postgres.
function shellSetting(name: string, value: string): string {
  return `-c '${`${name}=${value}`.replace(/'/g, `'\\''`)}'`;
}

// The -o string: the port, and what the wait below reads (messages in English, the log on stderr into the file).
export function serverOptions(port: number, action: TargetAction, extra: Record<string, string> = {}): string {
  const settings: Record<string, string> = {
    lc_messages: 'C',
    logging_collector: 'off',
    log_destination: 'stderr',
    log_min_messages: 'warning',
    log_line_prefix: '%m [%p] ',
    // without hot_standby PostgreSQL shuts down where pause was asked for
    ...(action === 'pause' ? { hot_standby: 'on' } : {}),
    ...extra,
  };
  return [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => shellSetting(k, v))].join(' ');
}

// The environment the server (and so restore_command) runs with: ours, without what would point wal fetch at
// another data directory (PostgreSQL runs restore_command in the data directory, which is what it must read), or at a
// config target or file of ours (restore_command names the repository and system itself, and runs as the server's
// user, who may not read our config file).
function serverEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { PGDATA: _a, PGOPS_PGDATA: _b, PGOPS_TARGET: _t, PGOPS_CONFIG: _c, ...rest } = env;
  return rest;
}

// Starts the laid-down server as osUser (pg_ctl, -p port, lc_messages=C, log into logFile), waits (bounded by
// timeoutMs and signal) until recovery reached the target or failed, and says where it stopped. With opts.spool, WAL
// is fetched ahead while it replays; the spool folder is removed however the replay ends.
export async function runRecovery(opts: RunRecoveryOptions): Promise<RecoveryEnd> {
  const spool = opts.spool ? await spoolForPlan({ ...opts.spool, pgdata: opts.pgdata, osUser: opts.osUser, log: opts.log, signal: opts.signal }) : undefined;
  let end: RecoveryEnd | undefined;
  try {
    end = await startAndWait(opts, spool);
    return end;
  } finally {
    const stats = await spool?.stop();
    if (end && stats) {
      end.spool = stats;
      opts.log.info('spool', `${stats.served} of the ${end.restored} WAL files restored came from the spool (fetched ahead while the server replayed, or when restore_command asked), wal fetch fetched the rest; ${stats.answered} of restore_command's questions answered without a wal fetch`);
    }
  }
}

async function startAndWait(opts: RunRecoveryOptions, spool: Spool | undefined): Promise<RecoveryEnd> {
  const { pgdata, log } = opts;
  const binDir = await serverBinDir(majorOfDataDir(pgdata), opts.pgBin);
  const logFile = opts.logFile ?? path.join(pgdata, 'recovery.log');
  const pgCtl = toolIn(binDir, 'pg_ctl');
  const started = Date.now();
  // -W: no waiting for connections, which a server that shuts down at its target never accepts
  const start = asUser(opts.osUser, pgCtl, ['-D', pgdata, '-l', logFile, '-W', '-o', serverOptions(opts.port, opts.action, opts.extraSettings), 'start']);
  try {
    await run(start.file, start.args, { env: serverEnv(opts.env), cwd: pgdata, timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new PgopsError(`pg_ctl could not start the recovered server in ${pgdata}: ${(e.stderr || e.stdout || messageOf(err)).trim().split('\n').slice(-5).join('\n')}`, {
      code: ExitCode.FAILED,
      hint: `see ${logFile}; is port ${opts.port} free, and may ${opts.osUser} write into ${pgdata}?`,
    });
  }
  log.info('started', `server started on port ${opts.port} as ${opts.osUser}, replaying WAL to ${describeTarget(opts.target)} (log: ${logFile})`);
  const reader = new ServerLogReader();
  let offset = 0;
  const readLog = () => {
    let fd: number;
    try {
      fd = fs.openSync(logFile, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(1024 * 1024);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        reader.feed(buf.subarray(0, n).toString('utf8'));
      }
    } finally {
      fs.closeSync(fd);
    }
  };
  const deadline = started + opts.timeoutMs;
  let seenPid = false;
  let shown = -1;
  for (;;) {
    readLog();
    const f = reader.facts;
    if (f.lastRestored) spool?.replayed(f.lastRestored);
    const outcome = settled(f, opts.action, opts.target);
    if (outcome) return finish(outcome, opts, binDir, reader, logFile, started);
    const pid = postmasterPid(pgdata);
    const alive = pid !== undefined && postgresAlive(pid);
    if (alive) seenPid = true;
    if (!alive && (seenPid || Date.now() - started > START_MS || f.failures.length > 0)) {
      // gone: read what it wrote last
      readLog();
      reader.flush();
      return finish(settled(reader.facts, opts.action, opts.target) ?? 'failed', opts, binDir, reader, logFile, started);
    }
    if (f.restored !== shown) {
      shown = f.restored;
      if (f.lastRestored) log.progress(`replaying: ${f.restored} WAL files restored, the last ${f.lastRestored}`);
    }
    if (opts.signal.aborted) {
      await stopServer(pgdata, opts.osUser, opts.pgBin);
      const why = opts.signal.reason instanceof PgopsError ? opts.signal.reason : new PgopsError('interrupted');
      throw new PgopsError(`${why.message} while the server replayed WAL: it was stopped; the data directory ${pgdata} stays, with recovery.signal and the settings`, {
        code: why.code,
        hint: `start it again to resume where replay stopped (${asUser(opts.osUser, pgCtl, ['-D', pgdata, '-l', logFile, 'start']).args.join(' ').replace(/^-u \S+ -- /, '')}), or remove the folder`,
      });
    }
    if (Date.now() > deadline) {
      await stopServer(pgdata, opts.osUser, opts.pgBin);
      readLog();
      reader.flush();
      const end = await finish('failed', opts, binDir, reader, logFile, started);
      return { ...end, reason: `recovery did not reach ${describeTarget(opts.target)} within ${formatDuration(opts.timeoutMs)} (--recovery-timeout): the server was stopped after ${reader.facts.restored} WAL files${reader.facts.lastRestored ? `, the last ${reader.facts.lastRestored}` : ''}` };
    }
    await pause(POLL_MS, opts.signal);
  }
}

// Waits ms, or less when the signal aborts.
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

// The state the log shows the recovery in, once it is settled; undefined while it replays.
// (A failure settles only once the postmaster is gone: a FATAL line may be a client's, refused during start-up.)
export function settled(f: LogFacts, action: TargetAction, target: RecoveryTarget): RecoveryEnd['state'] | undefined {
  if (f.ready && f.archiveRecoveryComplete) return 'promoted';
  if (target.kind !== 'latest' && action === 'pause' && f.paused) return 'paused';
  if (f.shutdownAtTarget && f.shutDown) return 'shut down';
  return undefined;
}

async function finish(state: RecoveryEnd['state'], opts: RunRecoveryOptions, binDir: string, reader: ServerLogReader, logFile: string, started: number): Promise<RecoveryEnd> {
  const f = reader.facts;
  const expected = opts.target.kind === 'latest' ? 'promoted' : ({ promote: 'promoted', pause: 'paused', shutdown: 'shut down' } as const)[opts.action];
  const reached = state === expected;
  const where = await replayState(state, f, { pgdata: opts.pgdata, osUser: opts.osUser, binDir });
  const end: RecoveryEnd = { reached, state, ...where, logFile, stopping: f.stopping, restored: f.restored, lastRestored: f.lastRestored, replayMs: Date.now() - started };
  if (!reached) {
    end.reason = f.failures.length ? f.failures.slice(-8).join('\n') + advice(f.failures, opts.pgdata) : state === 'failed' ? `the server exited without saying why: see ${logFile}` : `the server ${state} instead of what --target-action asked (${expected})`;
    if (serverRunning(opts.pgdata)) await stopServer(opts.pgdata, opts.osUser, opts.pgBin);
  }
  return end;
}

// What to do about the failures of a start that are not the archive's: the backed-up configuration names a socket
// folder this host lacks, or the port is taken.
function advice(failures: readonly string[], pgdata: string): string {
  const text = failures.join('\n');
  if (/could not create lock file ".*\.s\.PGSQL\.\d+\.lock": No such file or directory/.test(text)) {
    return `\n(the backed-up configuration's unix_socket_directories names a folder this host lacks: create it for the server's user, or set unix_socket_directories in ${pgdata}/postgresql.auto.conf, and start the server again)`;
  }
  if (/could not bind .* Address already in use|could not create any TCP\/IP sockets/.test(text)) return '\n(the port is taken: start the server again on a free port, pg_ctl -o "-p PORT")';
  return '';
}

// Stops a server started by runRecovery (fast, then immediate); no error when it is not running.
export async function stopServer(pgdata: string, osUser: string, pgBin?: string): Promise<void> {
  if (!serverRunning(pgdata)) return;
  const pgCtl = toolIn(await serverBinDir(majorOfDataDir(pgdata), pgBin), 'pg_ctl');
  for (const mode of ['fast', 'immediate']) {
    const stop = asUser(osUser, pgCtl, ['-D', pgdata, '-m', mode, '-w', '-t', '60', 'stop']);
    try {
      await run(stop.file, stop.args, { cwd: pgdata, timeout: 90_000 });
      return;
    } catch {
      if (!serverRunning(pgdata)) return;
    }
  }
}
