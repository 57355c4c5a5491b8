import { ExitCode, PgopsError } from './errors.ts';
import type { Logger } from './log.ts';
import { formatDuration } from './units.ts';

// How long a task may take to stop after SIGTERM or SIGINT before it is abandoned. Cleaning up (killing pg_dump,
// aborting an upload, removing temp files) takes seconds; a step that does not honour the abort (a query the server
// does not answer, a storage call hanging until its own timeout) must not keep a cron job or systemd waiting.
export const STOP_GRACE_MS = 30_000;

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export interface Interrupt {
  /** aborted at the first SIGTERM or SIGINT: handlers stop their children, abort uploads and clean up */
  signal: AbortSignal;
  /** rejects when the run must be given up: a second signal, or graceMs after the first; never resolves */
  abandoned: Promise<never>;
  /** removes the signal handlers and the timer */
  dispose(): void;
}

// Watches SIGTERM and SIGINT for one run of `task`: the first aborts, a second one (or the grace running out)
// abandons the run with a log line naming what was still running.
export function watchInterrupts(task: string, log: Logger, opts: { graceMs?: number; on?: Pick<NodeJS.EventEmitter, 'on' | 'off'> } = {}): Interrupt {
  const graceMs = opts.graceMs ?? STOP_GRACE_MS;
  const emitter = opts.on ?? process;
  const controller = new AbortController();
  let first: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let abandon!: (err: PgopsError) => void;
  const abandoned = new Promise<never>((_, reject) => (abandon = reject));
  abandoned.catch(() => {}); // raced by the caller only while the task runs
  const giveUp = (why: string) => {
    const running = stillRunning(log);
    log.error('abandoned', `${why}: abandoning ${task}, which was still running (${running})`, { hint: 'whatever it was writing is left as a killed run leaves it (an incomplete set, a temp file): the next run or prune deals with it' });
    abandon(new PgopsError(`interrupted by ${first} and abandoned: ${task} did not stop (${running})`, { code: ExitCode.FAILED, hint: 'run the task again; if it hangs again at the same step, look at what it waits for (pg_stat_activity, the storage endpoint)' }));
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (first) {
      clearTimeout(timer);
      giveUp(`received ${sig} again`);
      return;
    }
    first = sig;
    log.warn('signal', `received ${sig}: stopping and cleaning up (a second signal, or ${formatDuration(graceMs)} without stopping, abandons the run)`);
    controller.abort(new PgopsError(`interrupted by ${sig}`, { code: ExitCode.FAILED, hint: 'nothing was committed; run the task again' }));
    timer = setTimeout(() => giveUp(`did not stop within ${formatDuration(graceMs)} of ${sig}`), graceMs);
  };
  for (const s of STOP_SIGNALS) emitter.on(s, onSignal);
  return {
    signal: controller.signal,
    abandoned,
    dispose() {
      clearTimeout(timer);
      for (const s of STOP_SIGNALS) emitter.off(s, onSignal);
    },
  };
}

// Node's names for what keeps a process busy, in words; stdio and timers say nothing about the task.
const RESOURCE_WORDS: Record<string, string> = {
  ProcessWrap: 'child process',
  TCPSocketWrap: 'network connection',
  TCPWrap: 'network connection',
  TLSWrap: 'TLS connection',
  GetAddrInfoReqWrap: 'DNS lookup',
  FSReqCallback: 'file operation',
  FSReqPromise: 'file operation',
  FileHandle: 'open file',
  PipeWrap: 'pipe',
};

// "last step: start: backup ...; 1 child process, 2 network connections": what the run did last and what it holds.
function stillRunning(log: Logger): string {
  const last = [...log.entries].reverse().find((e) => e.kind !== 'signal' && e.kind !== 'abandoned');
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) {
    const word = RESOURCE_WORDS[r];
    if (word) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const held = [...counts].map(([w, n]) => `${n} ${w}${n === 1 ? '' : 's'}`).join(', ');
  const step = last ? `last step: ${last.kind}: ${last.message.split('\n')[0].slice(0, 200)}` : 'before its first step';
  return held ? `${step}; open: ${held}` : step;
}
