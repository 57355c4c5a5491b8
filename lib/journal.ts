import fs from 'node:fs';

// systemd connects a service's stderr to the journal and says so in JOURNAL_STREAM ("device:inode" of that stream,
// in decimal: systemd.exec(5)). The variable is inherited by every child, whose stderr may be elsewhere by then (a
// pipe to PostgreSQL's logging collector, a file, a terminal), so it counts only when it names this very descriptor:
// what sd_journal_stream_fd(3) tells its users to check.
export function isJournalStream(fd: number | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const named = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!named || fd === undefined) return false;
  try {
    // bigint: device numbers need not fit a double
    const st = fs.fstatSync(fd, { bigint: true });
    return st.dev === BigInt(named[1]) && st.ino === BigInt(named[2]);
  } catch {
    return false;
  }
}

// The syslog priorities the journal reads from a line's `<N>` prefix (sd-daemon(3)): err, warning, info, debug.
export const JOURNAL_PRIORITY = { error: 3, warn: 4, info: 6, debug: 7 } as const;

// Text with every line prefixed by its priority: the journal takes each line for an entry of its own, and a line
// without a prefix would get the stream's default priority (info), so a warning's HINT would not show as one.
export function withPriority(priority: number, text: string): string {
  return text.replace(/^(?=.)/gm, `<${priority}>`);
}
