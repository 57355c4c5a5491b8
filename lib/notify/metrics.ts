import fs from 'node:fs';
import path from 'node:path';
import { metricsOf, type MetricDef } from './metric-list.ts';
import type { RunOutcome } from './outcome.ts';
import { succeeded } from './outcome.ts';

export { METRIC_NAMES } from './metric-list.ts';

/** what the last successful run left of its sticky metrics (lib/notify/metric-list.ts), by name */
export type Remembered = Record<string, number>;

// A metric's value for this run: its own, else (a run that failed) what the last success left.
function valueOf(m: MetricDef, o: RunOutcome, lastSuccessAt: Date | null, remembered: Remembered): number | undefined {
  const own = m.value(o, lastSuccessAt);
  if (own !== undefined || !m.sticky || succeeded(o)) return own;
  return remembered[m.name];
}

// The sticky values of a successful run, for the state folder; a failed run keeps what the last success left.
export function stickyValues(o: RunOutcome, lastSuccessAt: Date | null, remembered: Remembered): Remembered {
  if (!succeeded(o)) return remembered;
  const out: Remembered = {};
  for (const m of metricsOf(o.task)) {
    const v = m.sticky ? m.value(o, lastSuccessAt) : undefined;
    if (v !== undefined) out[m.name] = v;
  }
  return out;
}

// A task's own figure as pgops_<task>_<name>; a name that starts with the task's already is not prefixed twice
// (recover's recover_replay_seconds is pgops_recover_replay_seconds).
export function taskGaugeName(task: string, name: string): string {
  const prefix = `${task.replace(/-/g, '_')}_`;
  return `pgops_${prefix}${name.startsWith(prefix) ? name.slice(prefix.length) : name}`;
}

// A prom-client registry holding this run's metrics, labelled task and target (labelled false: no labels, for the
// Pushgateway, whose grouping key carries them).
export async function metricsRegistry(o: RunOutcome, lastSuccessAt: Date | null, remembered: Remembered = {}, labelled = true) {
  const { Registry, Gauge } = await import('prom-client');
  const registry = new Registry();
  const labels = labelled ? { task: o.task, target: o.target } : {};
  const gauge = (name: string, help: string, value: number | undefined) => {
    if (value === undefined) return;
    new Gauge({ name, help, labelNames: Object.keys(labels), registers: [registry] }).set(labels, value);
  };
  for (const m of metricsOf(o.task)) gauge(m.name, m.help, valueOf(m, o, lastSuccessAt, remembered));
  for (const [name, g] of Object.entries(o.gauges ?? {})) gauge(taskGaugeName(o.task, name), g.help, g.value);
  return registry;
}

// The textfile's name: pgops_<task>[_<target>].prom, one per job and target, so runs of one job overwrite only theirs.
export function textfileName(o: Pick<RunOutcome, 'task' | 'target'>): string {
  return `pgops_${o.task.replace(/-/g, '_')}${o.target ? '_' + o.target.replace(/[^A-Za-z0-9_]/g, '_') : ''}.prom`;
}

// Writes the metrics for node_exporter's textfile collector: DIR/pgops_<task>[_<target>].prom, atomically.
export async function writeTextfile(dir: string, o: RunOutcome, lastSuccessAt: Date | null, remembered: Remembered = {}): Promise<string> {
  const text = await (await metricsRegistry(o, lastSuccessAt, remembered)).metrics();
  fs.mkdirSync(dir, { recursive: true });
  const name = textfileName(o);
  const file = path.join(dir, name);
  // node_exporter reads only *.prom: the temp file's name does not end so
  const temp = path.join(dir, `.${name}.${process.pid}.tmp`);
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
  return file;
}

// The Pushgateway's grouping key: job pgops, the task, and the target when there is one (an empty label value
// cannot stand in the URL's path, and an absent label is what Prometheus makes of an empty one anyway).
export function groupingKey(o: Pick<RunOutcome, 'task' | 'target'>): Record<string, string> {
  return o.target ? { task: o.task, target: o.target } : { task: o.task };
}

// Pushes the metrics to a Pushgateway under the grouping key (groupingKey); the metrics carry no labels of their
// own: the Pushgateway adds the grouping key's to each.
export async function pushMetrics(url: string, o: RunOutcome, lastSuccessAt: Date | null, remembered: Remembered = {}): Promise<void> {
  const { Pushgateway } = await import('prom-client');
  const registry = await metricsRegistry(o, lastSuccessAt, remembered, false);
  const gateway = new Pushgateway(url, { timeout: 10_000 }, registry);
  await gateway.pushAdd({ jobName: 'pgops', groupings: groupingKey(o) });
}
