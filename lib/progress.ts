import type { Logger } from './log.ts';
import { formatSize } from './units.ts';

// A byte counter callback that shows "12.0 MB, 40.1 MB/s" at most once a second (only on a TTY: log.progress decides).
export function byteProgress(log: Logger, label: string, now = () => Date.now()): (bytes: number) => void {
  const start = now();
  let last = 0;
  return (bytes) => {
    const t = now();
    if (t - last < 1000) return;
    last = t;
    const rate = bytes / Math.max(0.001, (t - start) / 1000);
    log.progress(`${label}: ${formatSize(bytes)}, ${formatSize(rate)}/s`);
  };
}
