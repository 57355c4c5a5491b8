import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// What the previous run of a task left behind: whether it failed, and when it last succeeded.
export interface RunState {
  lastExitCode: number;
  lastSuccessAt: string | null;
  /** the last successful run's sticky metrics (a backup's size), which a failed run exports again */
  lastSuccessMetrics?: Record<string, number>;
}

// The state folder: --state-dir, else $XDG_STATE_HOME/pgops, else ~/.local/state/pgops.
export function stateDir(configured: string | undefined, env: NodeJS.ProcessEnv): string {
  if (configured) return configured;
  const base = env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(base, 'pgops');
}

const fileOf = (dir: string, task: string, target: string) => path.join(dir, `${task}${target ? '@' + target.replace(/[^A-Za-z0-9_.-]/g, '_') : ''}.json`);

// The state the previous run of the task for this target left; undefined when there is none (or it cannot be read).
export function readState(dir: string, task: string, target: string): RunState | undefined {
  try {
    return JSON.parse(fs.readFileSync(fileOf(dir, task, target), 'utf8')) as RunState;
  } catch {
    return undefined;
  }
}

// Writes the state atomically (temp file + rename), so a crash never leaves half a file.
export function writeState(dir: string, task: string, target: string, state: RunState): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = fileOf(dir, task, target);
  const temp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(temp, JSON.stringify(state) + '\n');
  fs.renameSync(temp, file);
}
