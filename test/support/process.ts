import { execFileSync } from 'node:child_process';

// The child processes of a pid (pg_dump under a spawned pgops), as ps lists them; none when it has ended.
export function childrenOf(pid: number): { pid: number; comm: string }[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [p, comm] = l.trim().split(/\s+/);
        return { pid: Number(p), comm };
      });
  } catch {
    return [];
  }
}

// Polls until probe returns something truthy; fails naming what it waited for.
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 30_000, every = 20): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
