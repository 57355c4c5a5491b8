import type { TaskName } from '../options.ts';
import type { TaskHandler } from '../task.ts';

export interface TaskEntry {
  name: TaskName;
  /** words on the command line: "backup", "backups list" */
  command: string;
  describe: string;
  /** positional arguments, yargs style: "<name>" */
  positional?: string;
  examples: [string, string][];
  load: () => Promise<TaskHandler>;
}

// Every task: the CLI, the scripts and the docs read this list. Handlers load lazily to keep start-up short.
export const TASKS: readonly TaskEntry[] = [
  {
    name: 'backup',
    command: 'backup',
    describe: 'dump one database with pg_dump, streamed into the repository with a manifest written last',
    examples: [
      ['pgops backup --db postgresql://backup@db1/app --repo file:///var/backups/pgops', 'custom-format dump into a local folder'],
      ['pgops backup --target main', 'db, repo and retention from pgops.config.yml'],
    ],
    load: async () => (await import('./backup/index.ts')).backup,
  },
  {
    name: 'backups-list',
    command: 'backups list',
    describe: 'list the backup sets in a repository, newest first',
    examples: [['pgops backups list --repo s3://backups/pgops --db app', 'the sets of database app']],
    load: async () => (await import('./backups-list/index.ts')).backupsList,
  },
  {
    name: 'restore',
    command: 'restore',
    describe: 'verify a backup set against its manifest, then restore it with pg_restore',
    examples: [
      ['pgops restore --repo file:///var/backups/pgops --backup latest --to postgresql://root@db2/app --create --globals', 'whole database onto a new server'],
      ["pgops restore --repo file:///var/backups/pgops --to postgresql://root@db1/scratch --create --table public.orders", 'get back one table into a scratch database'],
    ],
    load: async () => (await import('./restore/index.ts')).restore,
  },
  {
    name: 'prune',
    command: 'prune',
    describe: 'apply grandfather-father-son retention to the backup sets (prints the plan; --execute deletes)',
    examples: [['pgops prune --repo file:///var/backups/pgops --keep-last 7 --keep-daily 7 --keep-weekly 4 --keep-monthly 12', 'print the plan']],
    load: async () => (await import('./prune/index.ts')).prune,
  },
  {
    name: 'drill',
    command: 'drill',
    describe: 'restore drill: restore a backup into a scratch database and prove it matches what was dumped',
    examples: [
      ['pgops drill --repo file:///var/backups/pgops --db app --target postgresql://postgres@drill-host/postgres', 'drill the newest backup of app'],
      ['pgops drill --target main --max-rpo 26h --max-rto 2h --assert drills/app.yml --amcheck', 'with limits, assertions and amcheck'],
    ],
    load: async () => (await import('./drill/index.ts')).drill,
  },
  {
    name: 'status',
    command: 'status',
    describe: 'Nagios-style check: age of the newest complete backup and of the newest passing drill',
    examples: [['pgops status --repo s3://backups/pgops --db app --max-backup-age 26h --max-drill-age 8d', 'what a monitor polls']],
    load: async () => (await import('./status/index.ts')).status,
  },
  // --- WAL archiving tasks (wal push, wal fetch, wal check) go here ---

  // --- maintenance tasks (reindex, analyze, idle-cleanup, partitions create/prune/check, refresh-matviews, health) go here ---
];

export function taskEntry(name: TaskName): TaskEntry {
  const t = TASKS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown task ${name}`);
  return t;
}
