import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

// A daemon we started: its name in ceph.conf (mon.a, osd.0, client.rgw) and how it ended.
interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  spawnError?: Error;
}

// The processes of one throwaway Ceph cluster: daemons run in the foreground as our children, so that we hold
// their pids from the start and can kill them and wait for them; short commands run to completion.
export class CephProcesses {
  private readonly daemons: Daemon[] = [];

  constructor(
    /** the cluster's folder (ceph.conf, log/) */
    readonly dir: string,
  ) {
    unstopped.add(this);
  }

  get conf(): string {
    return path.join(this.dir, 'ceph.conf');
  }

  // Starts `file -c ceph.conf -f ...args` (foreground) with stdout and stderr in log/<name>.out.
  spawnDaemon(name: string, file: string, args: string[]): void {
    const out = fs.openSync(path.join(this.dir, 'log', `${name}.out`), 'a');
    const child = spawn(file, ['-c', this.conf, '-f', ...args], { stdio: ['ignore', out, out], cwd: this.dir, env: cephEnv(this.conf) });
    fs.closeSync(out);
    const daemon: Daemon = { name, child, exited: Promise.resolve() };
    // a program that could not be started emits 'error' and never 'exit'
    daemon.exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (err) => {
        daemon.spawnError = err;
        resolve();
      });
    });
    this.daemons.push(daemon);
  }

  // Throws naming the daemon (and the tail of its log) when one of them is no longer running.
  assertRunning(): void {
    for (const d of this.daemons) {
      if (d.spawnError) throw new Error(`${d.name} could not be started: ${d.spawnError.message}`);
      if (d.child.exitCode !== null || d.child.signalCode !== null) {
        throw new Error(`${d.name} exited (${d.child.exitCode ?? d.child.signalCode}) while the cluster was starting\n${this.logTail(d.name)}`);
      }
    }
  }

  // Runs `file -c ceph.conf ...args` (without -c for tools that take none) to completion and returns its
  // stdout; on failure the error holds its stderr.
  run(file: string, args: string[], o: { conf?: boolean; timeoutMs?: number } = {}): Promise<string> {
    const timeoutMs = o.timeoutMs ?? 60_000;
    const argv = o.conf === false ? args : ['-c', this.conf, ...args];
    return new Promise((resolve, reject) => {
      execFile(file, argv, { cwd: this.dir, env: cephEnv(this.conf), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${path.basename(file)} ${args.slice(0, 3).join(' ')} failed (${err.killed ? `killed after ${timeoutMs} ms` : (err.code ?? err.signal)}): ${String(stderr).trim().slice(-2000)}`));
        else resolve(String(stdout));
      });
    });
  }

  // Asks a running daemon over its admin socket (run/<name>.asok), as `ceph daemon <name> <prefix>` does;
  // undefined while the daemon does not answer yet.
  adminCommand(name: string, prefix: string): Promise<unknown> {
    return new Promise((resolve) => {
      const socket = net.connect(path.join(this.dir, 'run', `${name}.asok`));
      const chunks: Buffer[] = [];
      socket.setTimeout(2_000, () => socket.destroy());
      socket.once('error', () => resolve(undefined));
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.once('close', () => {
        // the answer is a 4-byte big-endian length, then that many bytes of JSON
        const all = Buffer.concat(chunks);
        if (all.length < 4 || all.length < 4 + all.readUInt32BE(0)) return resolve(undefined);
        try {
          resolve(JSON.parse(all.subarray(4, 4 + all.readUInt32BE(0)).toString('utf8')));
        } catch {
          resolve(undefined);
        }
      });
      socket.write(`${JSON.stringify({ prefix })}\0`);
    });
  }

  // The last lines of a daemon's log and of its captured output, for error messages.
  logTail(name: string, lines = 25): string {
    const parts: string[] = [];
    for (const file of [`${name}.log`, `${name}.out`]) {
      const p = path.join(this.dir, 'log', file);
      if (!fs.existsSync(p)) continue;
      const text = fs.readFileSync(p, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      if (text) parts.push(`--- tail of log/${file} ---\n${text}`);
    }
    return parts.join('\n') || `(no log of ${name} in ${path.join(this.dir, 'log')})`;
  }

  // Kills every daemon and waits until each has exited.
  async killAll(): Promise<void> {
    this.sendKill();
    await Promise.all(this.daemons.map((d) => d.exited));
    unstopped.delete(this);
  }

  // SIGKILL, not SIGTERM: on a clean stop memstore first writes everything it holds to disk, which for a
  // throwaway cluster is only time spent.
  sendKill(): void {
    for (const d of this.daemons) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  }
}

// The environment of a Ceph command: our config only (never /etc/ceph), and no inherited CEPH_ARGS.
function cephEnv(conf: string): NodeJS.ProcessEnv {
  const { CEPH_ARGS: _args, ...env } = process.env;
  return { ...env, CEPH_CONF: conf };
}

// Clusters not stopped when this process exits (a test file that never called stop(), a worker that failed):
// their daemons are killed and their folders removed on the way out, so that they do not outlive the test run.
const unstopped = new Set<CephProcesses>();
process.once('exit', () => {
  for (const c of unstopped) {
    c.sendKill();
    fs.rmSync(c.dir, { recursive: true, force: true });
  }
});
