import { JOURNAL_PRIORITY, isJournalStream, withPriority } from './journal.ts';
import { redact, redactDeep } from './redact.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'human' | 'json';

export interface Logger {
  debug(kind: string, message: string, fields?: Record<string, unknown>): void;
  info(kind: string, message: string, fields?: Record<string, unknown>): void;
  warn(kind: string, message: string, fields?: Record<string, unknown>): void;
  error(kind: string, message: string, fields?: Record<string, unknown>): void;
  /** a transient progress line, shown only on a TTY in human format */
  progress(message: string): void;
  /** every entry written so far (tests and reports read them) */
  readonly entries: LogEntry[];
}

export interface LogEntry {
  time: string;
  level: Level;
  task: string;
  kind: string;
  message: string;
  [field: string]: unknown;
}

// Where text goes: a stream such as process.stderr, or a plain writer (lib/fd-writer.ts).
export interface TextSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** the descriptor written to, when there is one: tells whether it is the journal (lib/journal.ts) */
  readonly fd?: number;
}

export interface LoggerOptions {
  task: string;
  format?: LogFormat;
  verbose?: boolean;
  stream?: TextSink;
  /** where JOURNAL_STREAM is read (default: process.env) */
  env?: NodeJS.ProcessEnv;
  /**
   * kinds of info entries not printed as human lines on a terminal (still recorded, and printed as JSON lines or into
   * a file): the task's 'done' line, when its summary goes to the same terminal on stdout and would show twice
   */
  quietOnTerminal?: readonly string[];
}

const colors: Record<Level, string> = { debug: '\x1b[2m', info: '', warn: '\x1b[33m', error: '\x1b[31m' };

// Logs go to stderr: human-readable on a TTY, JSON lines otherwise; in the journal (a systemd service's stderr),
// human lines that carry their syslog priority, since the journal adds time and unit itself. Every entry redacted.
export function createLogger(opts: LoggerOptions): Logger {
  const stream = opts.stream ?? process.stderr;
  // asked at the first line written: finding out may cost more than a run that prints nothing (lib/fd-writer.ts)
  let settled: { isTTY: boolean; format: LogFormat; color: boolean; journal: boolean } | undefined;
  const settle = () => {
    if (settled) return settled;
    const isTTY = Boolean(stream.isTTY);
    const journal = !isTTY && isJournalStream(stream.fd, opts.env ?? process.env);
    const format: LogFormat = opts.format ?? (isTTY || journal ? 'human' : 'json');
    settled = { isTTY, format, color: isTTY && format === 'human' && !process.env.NO_COLOR, journal };
    return settled;
  };
  const entries: LogEntry[] = [];
  let progressShown = false;

  const clearProgress = () => {
    if (progressShown) {
      stream.write('\r\x1b[K');
      progressShown = false;
    }
  };

  const write = (level: Level, kind: string, message: string, fields: Record<string, unknown> = {}) => {
    const entry = redactDeep({ time: new Date().toISOString(), level, task: opts.task, kind, message, ...fields }) as LogEntry;
    entries.push(entry);
    if (level === 'debug' && !opts.verbose) return;
    clearProgress();
    const { format, color, journal, isTTY } = settle();
    if (level === 'info' && isTTY && format === 'human' && opts.quietOnTerminal?.includes(kind)) return;
    const out = (text: string) => stream.write(journal ? withPriority(JOURNAL_PRIORITY[level], text) : text);
    if (format === 'json') {
      out(JSON.stringify(entry) + '\n');
      return;
    }
    const prefix = level === 'info' || level === 'debug' ? '' : `${level.toUpperCase()}: `;
    const line = `${prefix}${entry.message}`;
    out(color && colors[level] ? `${colors[level]}${line}\x1b[0m\n` : `${line}\n`);
    if (typeof entry.hint === 'string') out(`HINT: ${entry.hint}\n`);
  };

  return {
    entries,
    debug: (k, m, f) => write('debug', k, m, f),
    info: (k, m, f) => write('info', k, m, f),
    warn: (k, m, f) => write('warn', k, m, f),
    error: (k, m, f) => write('error', k, m, f),
    progress(message) {
      const { isTTY, format } = settle();
      if (!isTTY || format !== 'human') return;
      stream.write(`\r\x1b[K${redact(message)}`);
      progressShown = true;
    },
  };
}

// A logger that records entries and prints nothing (for handlers called from tests).
export function silentLogger(task = 'test'): Logger {
  return createLogger({ task, format: 'json', stream: { write: () => true, isTTY: false } });
}

// Node's own warnings (deprecations, library notices) as log lines, so JSON logs stay JSON lines.
export function installWarningHandler(stream: TextSink = process.stderr): void {
  process.removeAllListeners('warning');
  process.on('warning', (w: Error) => {
    const message = redact(`${w.name}: ${w.message}`.replace(/\s+/g, ' ').trim());
    if (stream.isTTY) stream.write(`WARNING: ${message}\n`);
    else if (isJournalStream(stream.fd)) stream.write(withPriority(JOURNAL_PRIORITY.warn, `WARNING: ${message}\n`));
    else stream.write(JSON.stringify({ time: new Date().toISOString(), level: 'warn', task: 'pgops', kind: 'node-warning', message }) + '\n');
  });
}
