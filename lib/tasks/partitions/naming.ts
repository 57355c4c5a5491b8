import { usageError } from '../../errors.ts';
import { isoWeek, type Interval } from './periods.ts';

// PostgreSQL cuts identifiers at NAMEDATALEN - 1 bytes; a longer name would be truncated silently and collide.
export const MAX_IDENT_BYTES = 63;

const TOKENS = ['parent', 'YYYY', 'MM', 'DD', 'IYYY', 'IW'] as const;

// The default pattern of each interval: events_p2027_01, events_p2027_01_31, events_p2027w05, events_p2027.
export function defaultPattern(interval: Interval): string {
  return {
    day: '{parent}_p{YYYY}_{MM}_{DD}',
    week: '{parent}_p{IYYY}w{IW}',
    month: '{parent}_p{YYYY}_{MM}',
    year: '{parent}_p{YYYY}',
  }[interval];
}

// Refuses a pattern with unknown tokens, or one whose names would repeat within the interval (no {DD} for days).
export function checkPattern(pattern: string, interval: Interval): void {
  const used = [...pattern.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
  const unknown = used.filter((t) => !(TOKENS as readonly string[]).includes(t));
  if (unknown.length) {
    throw usageError(`unknown token {${unknown[0]}} in --partition-name "${pattern}"`, `use ${TOKENS.map((t) => `{${t}}`).join(' ')}`);
  }
  const has = (...t: string[]) => t.every((x) => used.includes(x));
  const enough = {
    day: has('YYYY', 'MM', 'DD'),
    week: has('IYYY', 'IW') || has('YYYY', 'MM', 'DD'),
    month: has('YYYY', 'MM'),
    year: has('YYYY'),
  }[interval];
  if (!enough) {
    const need = { day: '{YYYY} {MM} {DD}', week: '{IYYY} {IW} (or {YYYY} {MM} {DD})', month: '{YYYY} {MM}', year: '{YYYY}' }[interval];
    throw usageError(`--partition-name "${pattern}" gives two ${interval}s the same name`, `a ${interval} partition's name needs ${need}`);
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

// The name of the partition whose period starts at `start`. When it would be longer than 63 bytes, the parent's
// part is shortened (by whole characters) so the date part, which makes the name unique, stays whole.
export function partitionName(pattern: string, parent: string, start: Date): string {
  const w = isoWeek(start);
  const fill = (p: string) =>
    pattern.replace(/\{(\w+)\}/g, (_, t: string) =>
      ({ parent: p, YYYY: pad(start.getUTCFullYear(), 4), MM: pad(start.getUTCMonth() + 1), DD: pad(start.getUTCDate()), IYYY: pad(w.year, 4), IW: pad(w.week) })[t] ?? '',
    );
  let chars = [...parent];
  let name = fill(parent);
  while (bytes(name) > MAX_IDENT_BYTES && chars.length > 0 && pattern.includes('{parent}')) {
    chars = chars.slice(0, -1);
    name = fill(chars.join(''));
  }
  if (bytes(name) > MAX_IDENT_BYTES || name === '') {
    throw usageError(`the partition name "${name}" does not fit PostgreSQL's ${MAX_IDENT_BYTES} bytes`, 'choose a shorter --partition-name');
  }
  return name;
}
