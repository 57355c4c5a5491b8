import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { asUser } from './os-user.ts';
import type { LogFacts } from './server-log.ts';
import { toolIn } from './tools.ts';

const run = promisify(execFile);

// Where replay stopped: from the log when it says (a promotion logs "redo done at", the new timeline and the last
// transaction's time), else from the paused server itself (a query over its socket, when its pg_hba lets the
// server's user in), else from pg_controldata (the minimum recovery point, which a shutdown brings up to the last
// replayed record).

// Where replay stopped.
export interface ReplayState {
  lsn: string | null;
  timeline: number | null;
  lastTransactionTime: string | null;
}

// pg_controldata's fields by name.
export function parseControlData(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return fields;
}

async function controlData(binDir: string, pgdata: string): Promise<Record<string, string>> {
  try {
    const { stdout } = await run(toolIn(binDir, 'pg_controldata'), [pgdata], { env: { PATH: process.env.PATH, LC_ALL: 'C' }, timeout: 30_000 });
    return parseControlData(stdout);
  } catch {
    return {};
  }
}

// The paused server's replay position, asked over its socket (the folder and port postmaster.pid names) as the
// server's user; undefined when it does not let us in.
async function askPaused(o: { pgdata: string; osUser: string; binDir: string }): Promise<ReplayState | undefined> {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(o.pgdata, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const [port, socketDir] = [lines[3]?.trim(), lines[4]?.trim()];
  if (!port || !socketDir) return undefined;
  const sql = `SELECT pg_last_wal_replay_lsn(), to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), (SELECT min_recovery_end_timeline FROM pg_control_recovery())`;
  for (const user of [...new Set([o.osUser, 'postgres', 'root'])]) {
    const cmd = asUser(o.osUser, toolIn(o.binDir, 'psql'), ['-X', '-A', '-t', '-w', '-F', '|', '-h', socketDir, '-p', port, '-U', user, '-d', 'template1', '-c', sql]);
    try {
      const { stdout } = await run(cmd.file, cmd.args, { cwd: o.pgdata, env: { PATH: process.env.PATH, LC_ALL: 'C' }, timeout: 10_000 });
      const [lsn, time, timeline] = stdout.trim().split('|');
      return { lsn: lsn || null, lastTransactionTime: time || null, timeline: Number(timeline) || null };
    } catch {
      // the next user name
    }
  }
  return undefined;
}

// Where replay stopped, for a server in the given state.
export async function replayState(state: 'promoted' | 'paused' | 'shut down' | 'failed', f: LogFacts, o: { pgdata: string; osUser: string; binDir: string }): Promise<ReplayState> {
  const fromStop = f.stoppingAfter ? (f.stoppingTime ?? null) : null;
  if (state === 'promoted') {
    return { lsn: f.redoDoneAt ?? f.stoppingLsn ?? null, timeline: f.newTimeline ?? null, lastTransactionTime: f.lastTransactionTime ?? fromStop };
  }
  if (state === 'paused') {
    const asked = await askPaused(o);
    if (asked) return { ...asked, lastTransactionTime: asked.lastTransactionTime ?? fromStop };
  }
  const c = await controlData(o.binDir, o.pgdata);
  const min = c['Minimum recovery ending location'];
  const lsn = f.stoppingLsn ?? (min && min !== '0/0' ? min : null);
  const timeline = Number(c["Min recovery ending loc's timeline"]) || Number(c["Latest checkpoint's TimeLineID"]) || null;
  return { lsn, timeline, lastTransactionTime: fromStop ?? f.lastTransactionTime ?? null };
}
