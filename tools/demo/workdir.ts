import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// One temp folder holding everything the demo creates: the cluster, the repository, the children's temp files.
// TMPDIR points into it, so startDemoCluster() (which uses os.tmpdir()) and the pgops children put their files
// there too, and removing the folder removes all of it, even when the cluster failed half-way through starting.
export function makeWorkDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-demo-'));
  fs.chmodSync(dir, 0o755); // the cluster inside runs as the postgres user when we are root
  process.env.TMPDIR = dir;
  return dir;
}

// Stops a server left running under `dir` when startDemoCluster() was interrupted after starting it (so there is no
// Cluster to stop): SIGQUIT to the pid in postmaster.pid is PostgreSQL's immediate shutdown.
export async function stopLeftoverServer(dir: string): Promise<void> {
  for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const pidFile = path.join(dir, entry, 'data', 'postmaster.pid');
    if (!fs.existsSync(pidFile)) continue;
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || !isServerOf(pid, path.join(dir, entry, 'data'))) continue;
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      continue; // not running
    }
    for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
}

// The pid is a postgres serving `data` (pid files can outlive their process, and pids get reused).
function isServerOf(pid: number, data: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(data);
  } catch {
    return false;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Aborts `controller` on Ctrl-C or SIGTERM so the demo stops its current step and cleans up; returns the undo.
export function abortOnSignals(controller: AbortController, onSignal: (sig: NodeJS.Signals) => void): () => void {
  const handler = (sig: NodeJS.Signals) => {
    if (!controller.signal.aborted) onSignal(sig);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
