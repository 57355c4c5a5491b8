import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { SUPERUSER } from '../../test/support/cluster.ts';
import { asServerUser } from './pitr-pgbackrest.ts';

// The recovered servers of bench:pitr: started on a laid-down data directory, waited for until promoted, checked
// against the source's state, stopped and removed.

const READY = 'database system is ready to accept connections';
const POLL_MS = 20;

// Starts the server on pgdata (pg_ctl without -w, as the server user, log into logFile) and resolves with the seconds
// from the spawn of pg_ctl until the log says the promoted server accepts connections; fails when the postmaster
// stops first (with the log's last lines) or after timeoutMs.
export async function startUntilPromoted(o: { bin: string; pgdata: string; port: number; logFile: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<number> {
  const started = process.hrtime.bigint();
  const ctl = asServerUser(path.join(o.bin, 'pg_ctl'), ['-D', o.pgdata, '-l', o.logFile, '-o', `-p ${o.port} -c lc_messages=C`, 'start'], o.env);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(ctl.file, ctl.args, { env: ctl.env, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_ctl start exited with ${code}: see ${o.logFile}`))));
  });
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const text = fs.existsSync(o.logFile) ? fs.readFileSync(o.logFile, 'utf8') : '';
    // the log of a recovery says "ready" once, after "archive recovery complete" (a hot standby would say
    // "ready to accept read-only connections", which does not match)
    if (text.includes(READY)) return Number(process.hrtime.bigint() - started) / 1e9;
    if (/FATAL|PANIC/.test(text) && !fs.existsSync(path.join(o.pgdata, 'postmaster.pid'))) throw new Error(`the recovered server on ${o.pgdata} stopped before it was promoted:\n${lastLines(text, 10)}`);
    if (Date.now() > deadline) throw new Error(`the recovered server on ${o.pgdata} was not promoted within ${o.timeoutMs} ms:\n${lastLines(text, 10)}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const lastLines = (text: string, n: number) => text.trim().split('\n').slice(-n).join('\n');

// The recovered server's answer to sql (one row, column f), over TCP as the superuser the source had.
export async function queryRecovered(port: number, database: string, sql: string): Promise<string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, database });
  await client.connect();
  try {
    return String((await client.query<{ f: unknown }>(sql)).rows[0].f);
  } finally {
    await client.end();
  }
}

// Stops a server on pgdata if one runs (immediate: its data is thrown away next) and removes the folder.
export function stopAndRemove(bin: string, pgdata: string, env: NodeJS.ProcessEnv): void {
  if (fs.existsSync(path.join(pgdata, 'postmaster.pid'))) {
    const stop = asServerUser(path.join(bin, 'pg_ctl'), ['-D', pgdata, '-m', 'immediate', '-w', 'stop'], env);
    try {
      execFileSync(stop.file, stop.args, { env: stop.env, stdio: 'ignore' });
    } catch {
      // not running after all
    }
  }
  fs.rmSync(pgdata, { recursive: true, force: true });
}

// The lines of a server log that say where and why recovery ended, for the results (the recovered servers' own account).
export function recoveryLines(logFile: string): string[] {
  if (!fs.existsSync(logFile)) return [];
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => /redo done at|last completed transaction|selected new timeline|archive recovery complete|consistent recovery state/.test(l))
    .map((l) => l.replace(/^.*?(LOG|WARNING):\s+/, ''));
}

// The parts of a recovered server's replay from its log's timestamps (log_line_prefix '%m [%p] '): from the server's
// start to the first WAL file restored, the restores and replay up to "redo done", the end of recovery up to "ready
// to accept connections", and from then to endMs (the waiter's poll, and pgops's exit). Seconds; a part whose lines
// are missing is left out.
export function replayTimeline(logFile: string, endMs: number): Record<string, number> {
  if (!fs.existsSync(logFile)) return {};
  const at = (re: RegExp, last = false): number | undefined => {
    const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => re.test(l));
    const line = last ? lines.at(-1) : lines[0];
    const m = line && /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (\S+)/.exec(line);
    if (!m) return undefined;
    const t = Date.parse(`${m[1].replace(' ', 'T')}${m[2] === 'UTC' || m[2] === 'GMT' ? 'Z' : ''}`);
    return Number.isNaN(t) ? undefined : t;
  };
  const marks = {
    start: at(/starting PostgreSQL/),
    first: at(/restored log file "/),
    redo: at(/redo done at/),
    ready: at(/database system is ready to accept connections/),
  };
  const out: Record<string, number> = {};
  const part = (id: string, from?: number, to?: number) => {
    if (from !== undefined && to !== undefined) out[id] = (to - from) / 1000;
  };
  part('serverStart', marks.start, marks.first);
  part('restoring', marks.first, marks.redo);
  part('endOfRecovery', marks.redo, marks.ready);
  part('afterReady', marks.ready, endMs);
  return out;
}
