import { usageError } from './errors.ts';

// Durations and sizes are written with PostgreSQL's units everywhere: 90s, 5m, 1h, 7d; 512kB, 10MB, 1GB.
const durationUnits: Record<string, number> = { ms: 1, s: 1000, min: 60_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const sizeUnits: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

// Parses "90s", "5m", "26h", "7d" (a bare number is seconds) into milliseconds.
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d|w)?\s*$/.exec(String(text));
  if (!m) throw usageError(`invalid ${what} "${text}"`, 'write a duration like 90s, 5m, 1h, 26h or 7d');
  return Math.round(Number(m[1]) * durationUnits[m[2] ?? 's']);
}

// Parses "512kB", "10MB", "1GB" (a bare number is bytes) into bytes.
export function parseSize(text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|kB|MB|GB|TB)?\s*$/.exec(String(text));
  if (!m) throw usageError(`invalid ${what} "${text}"`, 'write a size like 512kB, 10MB or 1GB (units are case-sensitive, as in PostgreSQL)');
  return Math.round(Number(m[1]) * sizeUnits[m[2] ?? 'B']);
}

// Formats bytes with the largest unit that keeps the number at least 1: 1.5 GB.
export function formatSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${value} B` : `${value.toFixed(1)} ${units[i]}`;
}

// Formats milliseconds as 1.2s, 3m04s, 2h05m, 3d04h.
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}
