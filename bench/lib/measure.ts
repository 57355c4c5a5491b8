import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export interface Command {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface Measurement {
  seconds: number;
  /** wall clock (Date.now()) at spawn, to place the command's own log timestamps on its timeline */
  startedAtMs: number;
  /** peak resident set of the spawned process itself (VmHWM), in kB; only when asked for */
  peakRssKb?: number;
  stdout: string;
  /** the last 16 kB of its stderr (pgops's JSON log lines, when stderr is not a TTY) */
  stderr: string;
}

const STDERR_KEEP = 16 * 1024;
const RSS_POLL_MS = 25;

/** children running now, so that a cleanup after a failure or a signal can stop them */
export const running = new Set<ChildProcess>();

// The peak resident set size (VmHWM) of a live process in kB, or undefined once it has gone.
export function readPeakRssKb(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

// Runs a command to its end and times it with process.hrtime; rejects with its stderr tail when it fails.
// With rss, polls the process's VmHWM (a high-water mark, so only the last poll interval before exit is unseen).
// VmHWM is the process's own peak, without its children (pg_dump, pg_restore).
export function measure(cmd: Command, opts: { rss?: boolean; okCodes?: number[] } = {}): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const startedAtMs = Date.now();
    const child = spawn(cmd.file, cmd.args, { env: cmd.env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let peak: number | undefined;
    let ended: bigint | undefined;
    const poll = () => {
      const kb = child.pid === undefined ? undefined : readPeakRssKb(child.pid);
      if (kb !== undefined) peak = Math.max(peak ?? 0, kb);
    };
    const timer = opts.rss ? setInterval(poll, RSS_POLL_MS) : undefined;
    if (opts.rss) poll();
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEEP)));
    child.once('exit', () => {
      ended = process.hrtime.bigint();
      clearInterval(timer);
    });
    child.once('error', (err) => {
      clearInterval(timer);
      running.delete(child);
      reject(new Error(`${cmd.file} could not run: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      const seconds = Number((ended ?? process.hrtime.bigint()) - started) / 1e9;
      if (code !== null && (opts.okCodes ?? [0]).includes(code)) {
        resolve({ seconds, startedAtMs, peakRssKb: peak, stdout, stderr });
        return;
      }
      const tail = stderr.trim().split('\n').slice(-15).join('\n');
      reject(new Error(`${describe(cmd)} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${tail ? `:\n${tail}` : ''}`));
    });
  });
}

// The command as one line, for messages (the benchmark's URLs carry no passwords).
export function describe(cmd: Command): string {
  return [cmd.file, ...cmd.args].map((a) => (/^[\w./:=@,+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}
