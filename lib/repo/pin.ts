import { usageError } from '../errors.ts';

// Labels and pins of sets and base backups (manifest fields label and pinnedUntil). A label is a name people type at
// 3 a.m. (`--backup label:pre-migration-42`), so it is kept to characters that need no quoting in any shell or URL.
// A pin needs no label: "keep this one 30 days" is meaningful on its own; a label without a pin only names the set.

const LABEL_RE = /^[A-Za-z0-9._-]{1,100}$/;

// What --label and --pin put into a manifest: the label checked (exit 3 when it is not 1..100 characters of
// A-Z a-z 0-9 . _ -), and the pin as the moment it ends (now + pin, ISO 8601).
export function setMarks(o: { label?: string; pin?: number }, now: Date): { label?: string; pinnedUntil?: string } {
  if (o.label !== undefined && !LABEL_RE.test(o.label)) {
    throw usageError(
      `invalid --label ${JSON.stringify(o.label.length > 120 ? `${o.label.slice(0, 120)}...` : o.label)}: expected 1 to 100 characters of letters, digits, ".", "_" and "-"`,
      'a label is typed later as --backup label:NAME: use a short name such as pre-migration-42',
    );
  }
  return {
    ...(o.label !== undefined ? { label: o.label } : {}),
    ...(o.pin !== undefined ? { pinnedUntil: new Date(now.getTime() + o.pin).toISOString() } : {}),
  };
}

// A pinnedUntil as people read it: 2026-12-31T03:17:00Z (no milliseconds).
export function pinTime(pinnedUntil: string): string {
  const t = Date.parse(pinnedUntil);
  return Number.isNaN(t) ? pinnedUntil : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export type PinState = { state: 'none' } | { state: 'holds'; until: string } | { state: 'expired'; until: string } | { state: 'unreadable'; until: string };

// Whether a set's pin still holds at now. A pinnedUntil that is no date counts as unreadable, and callers keep the
// set: a writer meant to pin it.
export function pinState(pinnedUntil: string | undefined, now: Date): PinState {
  if (pinnedUntil === undefined) return { state: 'none' };
  const t = Date.parse(pinnedUntil);
  if (Number.isNaN(t)) return { state: 'unreadable', until: pinnedUntil };
  return t > now.getTime() ? { state: 'holds', until: pinTime(pinnedUntil) } : { state: 'expired', until: pinTime(pinnedUntil) };
}

// A pin in a table cell: its end while it holds, "expired <time>" after, "-" without one.
export function pinText(pinnedUntil: string | null | undefined, now: Date): string {
  const pin = pinState(pinnedUntil ?? undefined, now);
  if (pin.state === 'none') return '-';
  if (pin.state === 'expired') return `expired ${pin.until}`;
  return pin.until;
}
