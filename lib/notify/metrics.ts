import fs from 'node:fs';
import path from 'node:path';
import type { RunOutcome } from './outcome.ts';
import { succeeded } from './outcome.ts';

// The metrics every task exports (the README lists them):
//   pgops_last_run_timestamp_seconds{task,instance}      when the run finished
//   pgops_last_success_timestamp_seconds{task,instance}  when a run last succeeded (exit 0 or 1)
//   pgops_last_duration_seconds{task,instance}           how long the run took
//   pgops_last_exit_code{task,instance}                  the run's exit code (0 ok, 1 warning, 2 failed, 3 unknown, ...)
//   pgops_last_success{task,instance}                    1 when the run succeeded, else 0
//   pgops_last_bytes{task,instance}                      bytes written (backups) or read (verify)
//   pgops_<task>_<name>{task,instance}                   a task's own figures (verify: files, damaged, missing, ...)
export const METRIC_NAMES = ['pgops_last_run_timestamp_seconds', 'pgops_last_success_timestamp_seconds', 'pgops_last_duration_seconds', 'pgops_last_exit_code', 'pgops_last_success', 'pgops_last_bytes'] as const;

// A prom-client registry holding this run's metrics.
export async function metricsRegistry(o: RunOutcome, lastSuccessAt: Date | null) {
  const { Registry, Gauge } = await import('prom-client');
  const registry = new Registry();
  const labels = { task: o.task, instance: o.instance };
  const gauge = (name: string, help: string, value: number | null) => {
    if (value === null) return;
    new Gauge({ name, help, labelNames: ['task', 'instance'], registers: [registry] }).set(labels, value);
  };
  gauge('pgops_last_run_timestamp_seconds', 'When the last run of the task finished (unix time).', o.finishedAt.getTime() / 1000);
  gauge('pgops_last_success_timestamp_seconds', 'When a run of the task last succeeded (unix time).', lastSuccessAt ? lastSuccessAt.getTime() / 1000 : null);
  gauge('pgops_last_duration_seconds', 'How long the last run took.', (o.finishedAt.getTime() - o.startedAt.getTime()) / 1000);
  gauge('pgops_last_exit_code', 'Exit code of the last run (0 ok, 1 warning, 2 failed, 3 unknown, 4 locked, 5 not found, 6 integrity).', o.exitCode);
  gauge('pgops_last_success', '1 when the last run succeeded (exit 0 or 1), else 0.', succeeded(o) ? 1 : 0);
  gauge('pgops_last_bytes', 'Bytes the last run wrote (backups) or read (verify).', o.bytes ?? null);
  for (const [name, g] of Object.entries(o.gauges ?? {})) gauge(`pgops_${o.task.replace(/-/g, '_')}_${name}`, g.help, g.value);
  return registry;
}

// Writes the metrics for node_exporter's textfile collector: DIR/pgops_<task>[_<instance>].prom, atomically.
export async function writeTextfile(dir: string, o: RunOutcome, lastSuccessAt: Date | null): Promise<string> {
  const text = await (await metricsRegistry(o, lastSuccessAt)).metrics();
  fs.mkdirSync(dir, { recursive: true });
  const name = `pgops_${o.task.replace(/-/g, '_')}${o.instance ? '_' + o.instance.replace(/[^A-Za-z0-9_]/g, '_') : ''}.prom`;
  const file = path.join(dir, name);
  const temp = path.join(dir, `.${name}.${process.pid}.tmp`);
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
  return file;
}

// Pushes the metrics to a Pushgateway, grouped by job=pgops, task and instance.
export async function pushMetrics(url: string, o: RunOutcome, lastSuccessAt: Date | null): Promise<void> {
  const { Pushgateway } = await import('prom-client');
  const registry = await metricsRegistry(o, lastSuccessAt);
  const gateway = new Pushgateway(url, { timeout: 10_000 }, registry);
  await gateway.pushAdd({ jobName: 'pgops', groupings: { task: o.task, instance: o.instance || 'default' } });
}
