import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../../lib/errors.ts';
import { inArchiveRecovery, restoreCommandExit } from '../../../../lib/tasks/wal/recovery-mode.ts';

const dirs: string[] = [];
function dataDir(...signals: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-recovery-mode-'));
  dirs.push(dir);
  for (const s of signals) fs.writeFileSync(path.join(dir, s), '');
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function sink() {
  const lines: string[] = [];
  return { lines, stream: { write: (t: string) => lines.push(t), isTTY: false } };
}

describe('restore_command exit codes in archive recovery', () => {
  it('knows archive recovery (recovery.signal) from standby mode (standby.signal wins) and from no recovery', () => {
    expect(inArchiveRecovery(dataDir('recovery.signal'))).toBe(true);
    expect(inArchiveRecovery(dataDir('recovery.signal', 'standby.signal'))).toBe(false);
    expect(inArchiveRecovery(dataDir('standby.signal'))).toBe(false);
    expect(inArchiveRecovery(dataDir())).toBe(false);
  });

  it.each([ExitCode.FAILED, ExitCode.UNKNOWN, ExitCode.INTEGRITY])('turns exit %i into 128 during archive recovery, saying why', (code) => {
    const out = sink();
    const dir = dataDir('recovery.signal');
    expect(restoreCommandExit(code, dir, out.stream)).toBe(128);
    expect(out.lines).toHaveLength(1);
    const line = JSON.parse(out.lines[0]);
    expect(line).toMatchObject({ level: 'error', kind: 'stop-recovery', exitCode: 128 });
    expect(line.message).toContain(`wal fetch failed (exit ${code}) during the archive recovery of ${dir}`);
    expect(line.hint).toContain('recovery resumes where it stopped');
  });

  it('keeps 0 and 5 (not archived: the normal end of an archive) in archive recovery, and every code outside it', () => {
    const out = sink();
    const recovering = dataDir('recovery.signal');
    expect(restoreCommandExit(ExitCode.OK, recovering, out.stream)).toBe(0);
    expect(restoreCommandExit(ExitCode.NOT_FOUND, recovering, out.stream)).toBe(5);
    expect(restoreCommandExit(ExitCode.INTEGRITY, dataDir('recovery.signal', 'standby.signal'), out.stream)).toBe(6);
    expect(restoreCommandExit(ExitCode.FAILED, dataDir(), out.stream)).toBe(2);
    expect(out.lines).toEqual([]);
  });
});
