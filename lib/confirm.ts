import tty from 'node:tty';
import { ExitCode, PgopsError } from './errors.ts';

// A person's terminal, where a destructive step asks before it acts: both ends must be TTYs.
export interface Terminal {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

// The terminal of this process, when stdin and stderr both are one (an engineer at a shell); undefined for cron,
// systemd, CI and pipes, where --execute on the command line is the consent and nothing is asked.
export function processTerminal(): Terminal | undefined {
  // asked of the descriptors: process.stdin is a stream node builds when it is first touched
  return tty.isatty(0) && tty.isatty(2) ? { input: process.stdin, output: process.stderr } : undefined;
}

// Asks the person at the terminal to type `expected` (the database's name) before the destructive step `what`, as
// zx's question() asks; anything else, or the input closing, stops the task with nothing done. Without a terminal it
// returns at once.
export async function confirmOnTerminal(terminal: Terminal | undefined, what: string, expected: string, signal?: AbortSignal): Promise<void> {
  if (!terminal) return;
  const { question } = await import('zx');
  // the input closing, or the run being interrupted, is no answer; the listeners go with the question (a task may ask
  // once per table)
  let stop!: () => void;
  const closed = new Promise<undefined>((resolve) => (stop = () => resolve(undefined)));
  terminal.input.once('end', stop).once('close', stop);
  signal?.addEventListener('abort', stop, { once: true });
  let answer: string | undefined;
  try {
    // zx's types ask for TTY streams; readline, which it uses, reads and writes any stream
    answer = await Promise.race([question(`${what}\nType ${expected} to go on (anything else stops): `, { input: terminal.input as NodeJS.ReadStream, output: terminal.output as NodeJS.WriteStream }), closed]);
  } finally {
    terminal.input.off('end', stop).off('close', stop);
    signal?.removeEventListener('abort', stop);
  }
  if (answer?.trim() === expected) return;
  throw new PgopsError(`not confirmed: ${answer === undefined ? 'no answer was typed' : `"${answer.trim()}" is not ${expected}`}; nothing was changed`, {
    code: ExitCode.FAILED,
    hint: `run the command again and type ${expected} when asked; a run without a terminal (cron, a pipe: < /dev/null) is not asked`,
  });
}
