import os from 'node:os';
import { messageOf } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { OptionValues } from '../options.ts';
import { addSecret, redact } from '../redact.ts';
import { pushMetrics, writeTextfile } from './metrics.ts';
import { succeeded, type RunOutcome } from './outcome.ts';
import { pingEnd, pingStart } from './ping.ts';
import { readState, stateDir, writeState } from './state.ts';
import { postWebhook, shouldPost } from './webhook.ts';

// Ping and webhook URLs carry secrets (check keys, tokens): they never appear in output.
export function registerSignalSecrets(o: OptionValues): void {
  for (const key of ['pingUrl', 'webhookUrl', 'pushgateway']) if (typeof o[key] === 'string') addSecret(o[key] as string);
}

// Tells the monitor that the run started (a healthchecks-style /start ping). A failure is logged, never raised.
export async function signalStart(o: OptionValues, log: Logger): Promise<void> {
  if (typeof o.pingUrl !== 'string') return;
  registerSignalSecrets(o);
  try {
    const status = await pingStart(o.pingUrl);
    if (status >= 400) log.warn('ping', `start ping answered HTTP ${status}`);
  } catch (err) {
    log.warn('ping', `start ping failed: ${redact(messageOf(err))}`);
  }
}

// Metrics, the end ping and the webhook for a finished run. Each is tried on its own; a failed signal is logged
// as a warning and never changes the task's exit code.
export async function signalEnd(outcome: RunOutcome, o: OptionValues, log: Logger, env: NodeJS.ProcessEnv): Promise<void> {
  const wanted = ['metricsDir', 'pushgateway', 'pingUrl', 'webhookUrl'].some((k) => typeof o[k] === 'string');
  if (!wanted) return;
  registerSignalSecrets(o);
  outcome = { ...outcome, summary: redact(outcome.summary) };
  const dir = stateDir(o.stateDir as string | undefined, env);
  const previous = readState(dir, outcome.task, outcome.instance);
  const lastSuccessAt = succeeded(outcome) ? outcome.finishedAt : previous?.lastSuccessAt ? new Date(previous.lastSuccessAt) : null;
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      log.warn('signal', `${what} failed: ${redact(messageOf(err))}`);
    }
  };
  if (typeof o.metricsDir === 'string') await attempt('writing the metrics textfile', async () => log.debug('metrics', `wrote ${await writeTextfile(o.metricsDir as string, outcome, lastSuccessAt)}`));
  if (typeof o.pushgateway === 'string') await attempt('the Pushgateway push', () => pushMetrics(o.pushgateway as string, outcome, lastSuccessAt));
  if (typeof o.pingUrl === 'string') {
    await attempt('the ping', async () => {
      const status = await pingEnd(o.pingUrl as string, outcome);
      if (status >= 400) throw new Error(`HTTP ${status}`);
    });
  }
  if (typeof o.webhookUrl === 'string' && shouldPost(outcome, previous?.lastExitCode)) {
    await attempt('the webhook post', async () => {
      const status = await postWebhook(o.webhookUrl as string, outcome, os.hostname());
      if (status >= 400) throw new Error(`HTTP ${status}`);
    });
  }
  await attempt('saving the run state', async () => writeState(dir, outcome.task, outcome.instance, { lastExitCode: outcome.exitCode, lastSuccessAt: lastSuccessAt?.toISOString() ?? null }));
}
