import fs from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../../errors.ts';
import { createLogger, type TextSink } from '../../log.ts';

// PostgreSQL takes an exit code of restore_command from 1 to 125 as "this file is not in the archive". An archive
// recovery (recovery.signal) then ends there, and without a recovery target the server promotes: a damaged archived
// file, an unreachable repository or a wrong --repo would cut the recovery short with nothing but a log line, and
// the rest of the archive would be lost to the new timeline. Above 125 PostgreSQL stops the recovery instead (FATAL):
// the server does not start until someone fixed the cause, and recovery then resumes where it stopped. A standby
// (standby.signal) keeps retrying restore_command and falls back to streaming: there the ordinary codes are right.

// True when the data directory is in archive recovery, not in standby mode.
export function inArchiveRecovery(dataDir: string): boolean {
  return fs.existsSync(path.join(dataDir, 'recovery.signal')) && !fs.existsSync(path.join(dataDir, 'standby.signal'));
}

// The exit code wal fetch gives PostgreSQL: STOP_RECOVERY for a failure (anything but 0 and NOT_FOUND) in archive
// recovery, with a log line that says why; else the code itself.
export function restoreCommandExit(code: number, dataDir: string, stderr: TextSink): number {
  if (code === ExitCode.OK || code === ExitCode.NOT_FOUND || !inArchiveRecovery(dataDir)) return code;
  createLogger({ task: 'wal-fetch', stream: stderr }).error(
    'stop-recovery',
    `wal fetch failed (exit ${code}) during the archive recovery of ${dataDir}: exiting ${ExitCode.STOP_RECOVERY}, so that PostgreSQL stops the recovery here instead of ending it and promoting without the rest of the archive`,
    {
      exitCode: ExitCode.STOP_RECOVERY,
      hint: 'fix what the line before names (the repository, --repo, a damaged file), then start the server again: recovery resumes where it stopped; to end it before this file on purpose, set a recovery target (recovery_target_lsn, _time) before it',
    },
  );
  return ExitCode.STOP_RECOVERY;
}
