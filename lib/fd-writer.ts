import fs from 'node:fs';
import type { TextSink } from './log.ts';

// Writes to a file descriptor synchronously, for `wal push` and `wal fetch`: process.stdout and process.stderr build
// a stream as soon as they are touched, and for a pipe (PostgreSQL's logging collector) load node's net module: about
// 3 ms that archive_command would pay per segment for one line. Node writes to pipes and files synchronously on
// Linux too, so nothing changes in what arrives. isTTY is asked only when someone needs it (a log line).
export function fdWriter(fd: 1 | 2): TextSink {
  const stream = () => (fd === 1 ? process.stdout : process.stderr);
  let tty: boolean | undefined;
  return {
    // the logger asks whether this descriptor is the journal (lib/journal.ts)
    fd,
    write(text: string): boolean {
      try {
        fs.writeSync(fd, text);
      } catch (err) {
        // a non-blocking descriptor that is full: the stream waits for it
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return stream().write(text);
        // nobody reads any more (EPIPE) or the descriptor is closed: output is lost, the task's outcome is not
      }
      return true;
    },
    get isTTY() {
      tty ??= Boolean(stream().isTTY);
      return tty;
    },
  };
}
