import fs from 'node:fs';
import { measure, readPeakRssKb, running, type Command, type Measurement } from './measure.ts';

// measure() with the CPU time of the whole process tree: on 2 cores the CPU a tool burns (node's sha256 and tar
// parsing, pg_basebackup's and pgBackRest's own work) is what stretches its wall time when anything else runs.

export interface TreeMeasurement extends Measurement {
  /** user + system CPU seconds of the command and every descendant it waited for (10 ms resolution) */
  cpuSeconds: number;
}

// sh runs the command, then `times` prints the CPU of its waited-for children on stderr; exit code kept
const WRAP = '"$@"; r=$?; times >&2; exit $r';
const TIMES = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/;
const RSS_POLL_MS = 25;

// The first child of a process (the command under the wrapping sh), from /proc.
function childOf(pid: number): number | undefined {
  try {
    const first = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

// Runs cmd under sh, times it as measure() does and adds the CPU seconds of its tree; with rss, the peak RSS (VmHWM)
// is the command's own process (not sh's), polled every 25 ms. The sh costs every command alike about a millisecond.
export async function measureTree(cmd: Command, opts: { rss?: boolean; okCodes?: number[] } = {}): Promise<TreeMeasurement> {
  let peak: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const wrapped: Command = { file: 'sh', args: ['-c', WRAP, 'sh', cmd.file, ...cmd.args], env: cmd.env };
  const started = measure(wrapped, { okCodes: opts.okCodes });
  if (opts.rss) {
    // measure() spawned sh synchronously and added it to `running` last
    const sh = [...running].at(-1)?.pid;
    timer = setInterval(() => {
      const pid = sh === undefined ? undefined : childOf(sh);
      const kb = pid === undefined ? undefined : readPeakRssKb(pid);
      if (kb !== undefined) peak = Math.max(peak ?? 0, kb);
    }, RSS_POLL_MS);
  }
  try {
    const m = await started;
    const lines = m.stderr.trimEnd().split('\n');
    const children = TIMES.exec(lines.at(-1) ?? '');
    const cpuSeconds = children ? Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4]) : Number.NaN;
    // the two lines of `times` are not the command's
    const stderr = children ? lines.slice(0, -2).join('\n') : m.stderr;
    return { ...m, stderr, cpuSeconds, ...(opts.rss ? { peakRssKb: peak } : {}) };
  } finally {
    clearInterval(timer);
  }
}
