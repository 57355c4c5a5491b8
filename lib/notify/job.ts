// The name a run is known by in its metrics (the task label), its textfile and its state: the task, except that
// drill --pitr is drill-pitr. The two drills run on their own schedules and report other figures; under one name the
// second would overwrite the first's textfile, and a failing one would be "recovered" by the other's success.
export function jobOf(task: string, options: { pitr?: unknown }): string {
  return task === 'drill' && options.pitr === true ? 'drill-pitr' : task;
}
