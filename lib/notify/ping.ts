import { httpCall } from './http.ts';
import { succeeded, type RunOutcome } from './outcome.ts';

const BODY_LIMIT = 10_000;

// healthchecks.io-style pings: URL/start when the run starts, URL on success, URL/fail on failure; the body
// carries the summary, so the check's page shows why.
export function pingUrl(base: string, phase: 'start' | 'success' | 'fail'): string {
  const url = new URL(base);
  if (phase !== 'success') url.pathname = url.pathname.replace(/\/$/, '') + '/' + phase;
  return url.toString();
}

export async function pingStart(base: string): Promise<number> {
  return httpCall(pingUrl(base, 'start'), { method: 'POST', body: '' });
}

export async function pingEnd(base: string, o: RunOutcome): Promise<number> {
  return httpCall(pingUrl(base, succeeded(o) ? 'success' : 'fail'), { method: 'POST', body: o.summary.slice(0, BODY_LIMIT), headers: { 'content-type': 'text/plain; charset=utf-8' } });
}
