import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// What the previous run of a task left behind: whether it failed, and when it last succeeded.
export interface RunState {
  lastExitCode: number;
  lastSuccessAt: string | null;
}

// The state folder: --state-dir, else $XDG_STATE_HOME/pgops, else ~/.local/state/pgops.
export function stateDir(configured: string | undefined, env: NodeJS.ProcessEnv): string {
  if (configured) return configured;
  const base = env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(base, 'pgops');
}

const fileOf = (dir: string, task: string, instance: string) => path.join(dir, `${task}${instance ? '@' + instance.replace(/[^A-Za-z0-9_.-]/g, '_') : ''}.json`);

export function readState(dir: string, task: string, instance: string): RunState | undefined {
  try {
    return JSON.parse(fs.readFileSync(fileOf(dir, task, instance), 'utf8')) as RunState;
  } catch {
    return undefined;
  }
}

// Writes the state atomically (temp file + rename), so a crash never leaves half a file.
export function writeState(dir: string, task: string, instance: string, state: RunState): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = fileOf(dir, task, instance);
  const temp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(temp, JSON.stringify(state) + '\n');
  fs.renameSync(temp, file);
}
