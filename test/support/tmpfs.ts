import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// A small tmpfs for full-disk tests (root may mount one), or why there is none: a test skips with that reason.
export interface SmallDisk {
  point?: string;
  skipped: string;
}

// Mounts a tmpfs of `size` (mount's -o size=, e.g. 1m) on a new folder under parent; the reason is logged when it
// cannot ("skipping <what>: <why>").
export function mountSmallDisk(parent: string, size: string, what: string, mode?: string): SmallDisk {
  if (process.getuid?.() !== 0) return skip(what, 'mounting a tmpfs needs root');
  const point = fs.mkdtempSync(path.join(parent, 'pgops-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${mode ? `,mode=${mode}` : ''}`, 'tmpfs', point], { stdio: 'pipe' });
    return { point, skipped: '' };
  } catch (err) {
    fs.rmdirSync(point);
    return skip(what, `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
  }
}

function skip(what: string, why: string): SmallDisk {
  console.log(`skipping ${what}: ${why}`);
  return { skipped: why };
}

// Unmounts what mountSmallDisk mounted and removes its folder.
export function unmountSmallDisk(disk: SmallDisk | undefined): void {
  if (!disk?.point) return;
  execFileSync('umount', [disk.point]);
  fs.rmdirSync(disk.point);
}
