import os from 'node:os';
import { messageOf } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { OptionsOf, TaskName } from '../options.ts';
import { addSecret, redact } from '../redact.ts';
import { jobOf } from './job.ts';
import { pushMetrics, stickyValues, writeTextfile } from './metrics.ts';
import { succeeded, type RunOutcome } from './outcome.ts';
import { pingEnd, pingStart } from './ping.ts';
import { readState, stateDir, writeState } from './state.ts';
import { postWebhook, shouldPost } from './webhook.ts';

// The options every task accepts: where a run's notifications go.
export type NotifyOptions = OptionsOf<TaskName>;

// Ping and webhook URLs carry secrets (check keys, tokens): they never appear in output.
export function registerNotifySecrets(o: NotifyOptions): void {
  for (const url of [o.pingUrl, o.webhookUrl, o.pushgateway]) if (url !== undefined) addSecret(url);
}

// Tells the monitor that the run started (a healthchecks-style /start ping). A failure is logged, never raised.
export async function notifyStart(o: NotifyOptions, log: Logger): Promise<void> {
  if (o.pingUrl === undefined) return;
  registerNotifySecrets(o);
  try {
    const status = await pingStart(o.pingUrl);
    if (status >= 400) log.warn('ping', `start ping answered HTTP ${status}`);
  } catch (err) {
    log.warn('ping', `start ping failed: ${redact(messageOf(err))}`);
  }
}

// Metrics, the end ping and the webhook for a finished run. Each is tried on its own; a failed signal is logged
// as a warning and never changes the task's exit code.
export async function notifyEnd(outcome: RunOutcome, o: NotifyOptions, log: Logger, env: NodeJS.ProcessEnv): Promise<void> {
  if ([o.metricsDir, o.pushgateway, o.pingUrl, o.webhookUrl].every((v) => v === undefined)) return;
  registerNotifySecrets(o);
  outcome = { ...outcome, task: jobOf(outcome.task, o as { pitr?: unknown }), summary: redact(outcome.summary) };
  const dir = stateDir(o.stateDir, env);
  const previous = readState(dir, outcome.task, outcome.target);
  const lastSuccessAt = succeeded(outcome) ? outcome.finishedAt : previous?.lastSuccessAt ? new Date(previous.lastSuccessAt) : null;
  const remembered = stickyValues(outcome, lastSuccessAt, previous?.lastSuccessMetrics ?? {});
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      log.warn('signal', `${what} failed: ${redact(messageOf(err))}`);
    }
  };
  const { metricsDir, pushgateway, pingUrl, webhookUrl } = o;
  if (metricsDir !== undefined) await attempt('writing the metrics textfile', async () => log.debug('metrics', `wrote ${await writeTextfile(metricsDir, outcome, lastSuccessAt, remembered)}`));
  if (pushgateway !== undefined) await attempt('the Pushgateway push', () => pushMetrics(pushgateway, outcome, lastSuccessAt, remembered));
  if (pingUrl !== undefined) {
    await attempt('the ping', async () => {
      const status = await pingEnd(pingUrl, outcome);
      if (status >= 400) throw new Error(`HTTP ${status}`);
    });
  }
  if (webhookUrl !== undefined && shouldPost(outcome, previous?.lastExitCode)) {
    await attempt('the webhook post', async () => {
      const status = await postWebhook(webhookUrl, outcome, os.hostname());
      if (status >= 400) throw new Error(`HTTP ${status}`);
    });
  }
  await attempt('saving the run state', async () =>
    writeState(dir, outcome.task, outcome.target, { lastExitCode: outcome.exitCode, lastSuccessAt: lastSuccessAt?.toISOString() ?? null, lastSuccessMetrics: remembered }),
  );
}
