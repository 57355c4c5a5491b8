import type { TaskName } from '../options.ts';
import type { AnyTaskHandler } from '../task.ts';

export interface TaskEntry {
  name: TaskName;
  /** words on the command line: "backup", "backups list" */
  command: string;
  describe: string;
  /** positional arguments, yargs style: "<name>" */
  positional?: string;
  examples: [string, string][];
  load: () => Promise<AnyTaskHandler>;
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
    describe: 'list the backup sets and base backups in a repository, newest first, with labels and pins',
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
    name: 'basebackup',
    command: 'basebackup',
    describe: "take a base backup of the whole cluster with pg_basebackup (tar, WAL from the archive), streamed into basebackups/<system identifier>/ with a manifest written last, once its stop segment is archived",
    examples: [
      ['pgops basebackup --db postgresql://backup@db1/postgres --repo s3://backups/pgops', 'weekly base backup; wal push archives into the same repository'],
      ['pgops basebackup --target main --compress zstd --label pre-migration-42 --pin 30d', 'before a risky migration: kept 30 days whatever the retention'],
    ],
    load: async () => (await import('./basebackup/index.ts')).basebackup,
  },
  {
    name: 'recover',
    command: 'recover',
    describe: 'point-in-time recovery: lay the base backup before the target down into a new data directory, checked file by file, with restore_command and the target set (--start runs it to the target)',
    examples: [
      ["pgops recover --repo s3://backups/pgops --pgdata /var/lib/postgresql/15/restored --target-time '2026-11-30 03:12:00+00'", 'the moment before a mistaken DELETE; prints the command that starts the server'],
      ['pgops recover --repo file:///var/backups/pgops --pgdata /srv/pg/restored --target immediate --start --port 5433', 'the base backup alone, consistent, then stop'],
    ],
    load: async () => (await import('./recover/index.ts')).recover,
  },
  {
    name: 'prune',
    command: 'prune',
    describe: 'apply grandfather-father-son retention to the backup sets and base backups, and expire the WAL no kept base backup needs (prints the plan; --execute deletes)',
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
  {
    name: 'repo-init',
    command: 'repo init',
    describe: 'initialise a repository (writes pgops-repo.json, which every task reads first); adopts one that already holds sets',
    examples: [['pgops repo init --repo s3://backups/pgops', 'before the first backup or archived WAL file']],
    load: async () => (await import('./repo/init.ts')).repoInit,
  },
  {
    name: 'repo-info',
    command: 'repo info',
    describe: 'what a repository holds: its format, databases, backup sets, WAL range and size',
    examples: [['pgops repo info --repo file:///var/backups/pgops', 'one line per database, then the WAL archive']],
    load: async () => (await import('./repo/info.ts')).repoInfo,
  },
  {
    name: 'repo-rekey',
    command: 'repo rekey',
    describe: "re-wrap the keys of an encrypted repository's stored files for its current recipients (after repo init --encrypt-to changed them), without re-encrypting their data; prints the plan, --execute rewrites",
    examples: [
      ['pgops repo rekey --repo s3://backups/pgops --identity old-and-new-keys.txt', 'what would be re-wrapped (the identity file holds the old and the new key)'],
      ['pgops repo rekey --repo s3://backups/pgops --identity old-and-new-keys.txt --execute', 're-wrap them: afterwards the old identity reads nothing'],
    ],
    load: async () => (await import('./repo/rekey.ts')).repoRekey,
  },
  {
    name: 'verify',
    command: 'verify',
    describe: "Nagios-style check: re-read every stored file of every set and every archived WAL file, compare size and sha256 with its manifest or sidecar, and check the WAL's continuity, without restoring anything",
    examples: [
      ['pgops verify --repo s3://backups/pgops', 'the whole repository'],
      ['pgops verify --repo file:///var/backups/pgops --db app --json', 'the sets of database app, as JSON'],
    ],
    load: async () => (await import('./verify/index.ts')).verify,
  },
  // --- WAL archiving tasks (wal push, wal fetch, wal check) go here ---
  {
    name: 'wal-push',
    command: 'wal push',
    positional: '<path>',
    describe: 'archive_command: archive one WAL file into wal/<system identifier>/ of the repository (idempotent, verified, atomic)',
    examples: [
      ["archive_command = 'pgops wal push %p --repo file:///var/lib/pgops/repo'", 'in postgresql.conf'],
      ["archive_command = 'pgops wal push %p --config /etc/pgops/pgops.config.yml --target main --wal-compress gzip'", 'S3 settings from the config file, compressed'],
    ],
    load: async () => (await import('./wal/push.ts')).walPush,
  },
  {
    name: 'wal-fetch',
    command: 'wal fetch',
    positional: '<name> <destination>',
    describe: 'restore_command: restore one archived WAL file, verified against its sha256; exit 5 when it is not archived, 128 when it fails during an archive recovery (PostgreSQL then stops)',
    examples: [["restore_command = 'pgops wal fetch %f %p --repo file:///var/lib/pgops/repo'", 'in postgresql.conf of the server being recovered']],
    load: async () => (await import('./wal/fetch.ts')).walFetch,
  },
  {
    name: 'wal-check',
    command: 'wal check',
    describe: 'Nagios-style check of WAL archiving: settings, failures, backlog and pg_wal size on the server; continuity in the repository',
    examples: [
      ['pgops wal check --db postgresql://monitor@db1/postgres', 'server side only (a role with pg_monitor)'],
      ['pgops wal check --db postgresql://monitor@db1/postgres --repo s3://backups/pgops --switch', 'both sides, and prove a switched segment arrives'],
    ],
    load: async () => (await import('./wal/check/index.ts')).walCheck,
  },

  // --- maintenance tasks (reindex, analyze, idle-cleanup, partitions create/prune/check, refresh-matviews, health) go here ---
  {
    name: 'reindex',
    command: 'reindex',
    describe: 'drop leftovers of failed concurrent rebuilds, then rebuild bloated, invalid or named indexes with REINDEX INDEX CONCURRENTLY (prints the plan; --execute acts)',
    examples: [
      ['pgops reindex --db postgresql://ops@db1/app --min-size 100MB --min-bloat 30', 'print the plan: leftovers, then the indexes over the thresholds'],
      ['pgops reindex --target main --max-indexes 5 --max-duration 1h --execute', 'rebuild at most 5 indexes, starting none after an hour'],
      ['pgops reindex --target main --index public.orders_created_at_idx --execute', 'rebuild one index, whatever its bloat'],
    ],
    load: async () => (await import('./reindex/index.ts')).reindex,
  },
  {
    name: 'analyze',
    command: 'analyze',
    describe: 'ANALYZE the tables changed past their autovacuum analyze threshold or never analyzed, and stale partitioned parents (prints the plan; --execute acts)',
    examples: [
      ['pgops analyze --db postgresql://ops@db1/app', 'print the tables that need it, and why'],
      ['pgops analyze --target main --vacuum --execute', 'run VACUUM (ANALYZE) on them'],
    ],
    load: async () => (await import('./analyze/index.ts')).analyze,
  },
  {
    name: 'refresh-matviews',
    command: 'refresh-matviews',
    describe: 'refresh materialized views one at a time, CONCURRENTLY where a unique index allows it, with timings (prints the plan; --execute acts)',
    examples: [
      ['pgops refresh-matviews --db postgresql://ops@db1/app', 'print the plan: every materialized view, in dependency order'],
      ['pgops refresh-matviews --target main --matview reports.daily_sales --concurrently-only --execute', 'refresh one view, never blocking its readers'],
    ],
    load: async () => (await import('./refresh-matviews/index.ts')).refreshMatviews,
  },
  {
    name: 'idle-cleanup',
    command: 'idle-cleanup',
    describe: 'terminate client sessions idle, or idle in a transaction, for longer than the limits (prints the plan; --execute terminates)',
    examples: [
      ['pgops idle-cleanup --db postgresql://ops@db1/app --idle 1h --idle-in-transaction 10m', 'list the sessions that would be terminated'],
      ['pgops idle-cleanup --target main --idle-in-transaction 10m --exclude-app nightly-report --execute', 'terminate them, leaving the nightly report alone (backups and replication always are)'],
    ],
    load: async () => (await import('./idle-cleanup/index.ts')).idleCleanup,
  },
  {
    name: 'partitions-create',
    command: 'partitions create',
    describe: 'create the partitions of the current and the next --ahead periods of range-partitioned tables, with the parent\'s owner and privileges (prints the plan; --execute creates)',
    examples: [
      ['pgops partitions create --db postgresql://ops@db1/app --table public.events --ahead 3', 'print the plan; the interval is inferred from the existing partitions'],
      ['pgops partitions create --target main --execute', 'the tables named by partition-table in pgops.config.yml'],
    ],
    load: async () => (await import('./partitions/create.ts')).partitionsCreate,
  },
  {
    name: 'partitions-prune',
    command: 'partitions prune',
    describe: 'detach (or --drop) the partitions older than the --keep periods before the current one, never the newest; --archive dumps each first (prints the plan; --execute acts)',
    examples: [
      ['pgops partitions prune --db postgresql://ops@db1/app --table public.events --keep 12', 'print the plan'],
      ['pgops partitions prune --target main --keep 12 --archive --repo s3://backups/pgops --drop --execute', 'archive into the repository, then drop'],
    ],
    load: async () => (await import('./partitions/prune.ts')).partitionsPrune,
  },
  {
    name: 'partitions-check',
    command: 'partitions check',
    describe: 'Nagios-style check: WARNING when fewer than --ahead future partitions exist, CRITICAL when the current period has none',
    examples: [['pgops partitions check --db postgresql://monitor@db1/app --table public.events --ahead 3', 'what a monitor polls']],
    load: async () => (await import('./partitions/check.ts')).partitionsCheck,
  },
  {
    name: 'health',
    command: 'health',
    describe: 'Nagios-style health report: connections, cache hit ratio, long transactions, lock waits, slow statements, unused indexes, sizes, dead tuples, wraparound',
    examples: [
      ['pgops health --db postgresql://monitor@db1/app', 'status line with perfdata, then one line per check'],
      ['pgops health --target main --report /var/lib/pgops/health.md', 'also write the markdown report'],
    ],
    load: async () => (await import('./health/index.ts')).health,
  },
];

export function taskEntry(name: TaskName): TaskEntry {
  const t = TASKS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown task ${name}`);
  return t;
}
