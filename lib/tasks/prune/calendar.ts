// The calendar buckets retention counts in, all in UTC so that a plan does not depend on the machine's time zone.

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

// The UTC calendar day of a moment: 2026-11-20.
export function dayKey(time: Date): string {
  return `${time.getUTCFullYear()}-${pad(time.getUTCMonth() + 1)}-${pad(time.getUTCDate())}`;
}

// The ISO 8601 week of a moment (UTC): 2026-W47. Days near New Year may belong to the other year's week.
export function isoWeekKey(time: Date): string {
  const day = Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate());
  const weekday = (time.getUTCDay() + 6) % 7; // Monday 0 .. Sunday 6
  // The Thursday of the same week decides the ISO year; its day of year decides the week number.
  const thursday = new Date(day + (3 - weekday) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${year}-W${pad(week)}`;
}

// The UTC calendar month of a moment: 2026-11.
export function monthKey(time: Date): string {
  return `${time.getUTCFullYear()}-${pad(time.getUTCMonth() + 1)}`;
}
