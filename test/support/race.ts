import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { waitFor } from './wal.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const RACER = path.join(ROOT, 'test/support/wal-racer.ts');

export interface RaceResult {
  /** the command line's `wal ...` arguments */
  args: string[];
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

// Runs each `pgops wal ...` command line in a process of its own, all released from one start line once every one
// of them is loaded (test/support/wal-racer.ts); resolves with each one's outcome, in the order given.
export async function race(commands: string[][], env: NodeJS.ProcessEnv = {}): Promise<RaceResult[]> {
  const line = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-race-'));
  const go = path.join(line, 'go');
  try {
    const runs = commands.map((args, i) =>
      execa(process.execPath, ['--import', 'tsx', RACER, path.join(line, `ready-${i}`), go, 'wal', ...args], {
        cwd: ROOT,
        reject: false,
        extendEnv: false,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      }),
    );
    const exited = runs.map(() => false);
    runs.forEach((r, i) => void r.finally(() => (exited[i] = true)));
    // a racer that ends before the start line failed to load: waiting for it would only time out
    await waitFor('every racer at the start line', () => commands.every((_, i) => fs.existsSync(path.join(line, `ready-${i}`)) || exited[i]), 120_000);
    fs.writeFileSync(go, '');
    const results = await Promise.all(runs);
    return results.map((r, i) => ({ args: commands[i], exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) }));
  } finally {
    fs.rmSync(line, { recursive: true, force: true });
  }
}
