import { formatDuration } from '../units.ts';
import { httpCall } from './http.ts';
import { succeeded, type RunOutcome } from './outcome.ts';

// Whether to post: every failure, and the first success after a failure (so the channel hears it recovered).
export function shouldPost(o: RunOutcome, previousExitCode: number | undefined): boolean {
  if (!succeeded(o)) return true;
  return previousExitCode !== undefined && previousExitCode > 1;
}

// A Slack-compatible message ({"text": ...}; Mattermost, Rocket.Chat and Teams' Slack-compatible hooks take it too).
export function webhookMessage(o: RunOutcome, host: string): { text: string } {
  const head = succeeded(o)
    ? `:white_check_mark: pgops ${o.task}${o.target ? ` (${o.target})` : ''} recovered on ${host}`
    : `:rotating_light: pgops ${o.task}${o.target ? ` (${o.target})` : ''} FAILED on ${host} (exit ${o.exitCode}, after ${formatDuration(o.finishedAt.getTime() - o.startedAt.getTime())})`;
  return { text: `${head}\n${o.summary.slice(0, 3000)}` };
}

export async function postWebhook(url: string, o: RunOutcome, host: string): Promise<number> {
  return httpCall(url, { method: 'POST', body: JSON.stringify(webhookMessage(o, host)), headers: { 'content-type': 'application/json' } });
}
