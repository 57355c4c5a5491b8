import { usageError } from './errors.ts';
import { parseDuration, parseSize } from './units.ts';

// Every task's name, as lib/tasks/index.ts registers it ("backups-list" is `pgops backups list`).
export const TASK_NAMES = [
  'backup', 'restore', 'backups-list', 'prune', 'drill', 'status',
  // physical: base backups and point-in-time recovery
  'basebackup', 'recover',
  // repository
  'repo-init', 'repo-info', 'repo-rekey', 'verify',
  // WAL archiving
  'wal-push', 'wal-fetch', 'wal-check',
  // maintenance
  'reindex', 'analyze', 'idle-cleanup', 'partitions-create', 'partitions-prune', 'partitions-check', 'refresh-matviews', 'health',
] as const;
export type TaskName = (typeof TASK_NAMES)[number];
export const MAINTENANCE = ['reindex', 'analyze', 'idle-cleanup', 'partitions-create', 'partitions-prune', 'partitions-check', 'refresh-matviews', 'health'] as const;
export type MaintenanceTask = (typeof MAINTENANCE)[number];
export type OptionType = 'string' | 'integer' | 'boolean' | 'duration' | 'size' | 'list' | 'choice';

export interface OptionDef {
  /** the flag, also the key in a config file target */
  flag: string;
  type: OptionType;
  describe: string;
  /** tasks that accept it; '*' for every task */
  tasks: readonly TaskName[] | '*';
  /** environment variables read in order when the flag is absent (PGOPS_* first) */
  env?: readonly string[];
  choices?: readonly string[];
  default?: unknown;
  /** lower bound for integers */
  min?: number;
  /** upper bound for integers */
  max?: number;
  /** a short name for the flag */
  alias?: string;
  /** not read from a config file (a file must not decide a destructive act) */
  noConfig?: boolean;
  /** shown in help as the value's placeholder */
  placeholder?: string;
}

const S3 = ['backup', 'basebackup', 'recover', 'restore', 'backups-list', 'prune', 'drill', 'status', 'repo-init', 'repo-info', 'repo-rekey', 'verify', 'wal-push', 'wal-fetch', 'wal-check', 'partitions-prune'] as const;
// the tasks that store files: each encrypts them when the repository says so (pgops-repo.json's encryption)
const WRITERS = ['backup', 'basebackup', 'drill', 'wal-push', 'partitions-prune', 'repo-rekey'] as const;
// the tasks that read what was stored: they need an identity of an encrypted repository
const READERS = ['restore', 'drill', 'recover', 'wal-fetch', 'verify', 'repo-rekey'] as const;
// the tasks that take a passphrase-mode repository's passphrase: writers, readers and repo init
const KEYED = ['repo-init', ...WRITERS, 'restore', 'recover', 'wal-fetch', 'verify'] as const;

// The one table of options: help, environment variables, config keys and validation all come from here.
export const OPTIONS = [
  { flag: 'target', type: 'string', tasks: '*', env: ['PGOPS_TARGET'], noConfig: true, placeholder: 'NAME', describe: 'a target named in the config file: fills db, repo and retention (drill: a postgresql:// URL here is the drill server; recover: immediate or latest is the recovery target, latest by default)' },
  { flag: 'config', type: 'string', tasks: '*', env: ['PGOPS_CONFIG'], noConfig: true, placeholder: 'FILE', describe: 'config file (default: the first found of ./pgops.config.yml, $XDG_CONFIG_HOME/pgops/pgops.config.yml or ~/.config/pgops/pgops.config.yml, /etc/pgops/pgops.config.yml)' },
  { flag: 'json', type: 'boolean', tasks: '*', env: ['PGOPS_JSON'], default: false, describe: 'print the result as JSON on stdout, in one versioned envelope: version, task, ok, exitCode, data, error, hint' },
  { flag: 'log-format', type: 'choice', tasks: '*', env: ['PGOPS_LOG_FORMAT'], choices: ['human', 'json'], describe: 'log format on stderr (default: human on a TTY and in the journal, json otherwise)' },
  { flag: 'verbose', type: 'boolean', tasks: '*', env: ['PGOPS_VERBOSE'], default: false, describe: 'log debug entries too' },
  { flag: 'metrics-dir', type: 'string', tasks: '*', env: ['PGOPS_METRICS_DIR'], placeholder: 'DIR', describe: "write the run's metrics for node_exporter's textfile collector into DIR (atomically)" },
  { flag: 'pushgateway', type: 'string', tasks: '*', env: ['PGOPS_PUSHGATEWAY_URL'], placeholder: 'URL', describe: "push the run's metrics to this Prometheus Pushgateway" },
  { flag: 'ping-url', type: 'string', tasks: '*', env: ['PGOPS_PING_URL'], placeholder: 'URL', describe: 'healthchecks-style check URL: pinged at start (/start), on success, and on failure (/fail)' },
  { flag: 'webhook-url', type: 'string', tasks: '*', env: ['PGOPS_WEBHOOK_URL'], placeholder: 'URL', describe: 'Slack-compatible webhook: told of every failure and of the first success after one' },
  { flag: 'state-dir', type: 'string', tasks: '*', env: ['PGOPS_STATE_DIR'], placeholder: 'DIR', describe: 'where runs remember their last result (default: $XDG_STATE_HOME/pgops or ~/.local/state/pgops)' },

  { flag: 'db', type: 'string', tasks: ['backup', 'basebackup', 'backups-list', 'prune', 'verify', 'restore', 'drill', 'status', 'wal-check', ...MAINTENANCE], env: ['PGOPS_DB', 'DATABASE_URL'], placeholder: 'CONNINFO', describe: 'the database, as psql takes it: a URL (postgresql://user@host:port/dbname), host=... dbname=... pairs, service=NAME, or a database name; libpq\'s PG* variables, pg_service.conf and ~/.pgpass apply' },
  { flag: 'repo', type: 'string', tasks: S3, env: ['PGOPS_REPO'], placeholder: 'URL', describe: 'repository: file:///abs/path or s3://bucket/prefix' },

  // encryption (age) and object lock, recorded by repo init in pgops-repo.json and honoured by every writer
  { flag: 'encrypt-to', type: 'list', tasks: ['repo-init'], noConfig: true, placeholder: 'RECIPIENT', describe: 'encrypt everything written from now on to this age recipient (age1..., from age-keygen; repeatable): the writers need no secret, readers need one identity of them (--identity); on an initialised repository, replaces its recipients for new writes (pgops repo rekey re-wraps the stored files)' },
  { flag: 'encrypt-passphrase', type: 'boolean', tasks: ['repo-init'], default: false, noConfig: true, describe: "encrypt with a passphrase (age's scrypt mode) read from --passphrase-file, instead of recipients: simpler, but every writer then holds what reads the backups" },
  { flag: 'passphrase-file', type: 'string', tasks: KEYED, env: ['PGOPS_AGE_PASSPHRASE_FILE'], placeholder: 'FILE', describe: "the passphrase of a repository encrypted with --encrypt-passphrase: the file's first line" },
  { flag: 'identity', type: 'string', tasks: READERS, env: ['PGOPS_AGE_IDENTITY_FILE'], placeholder: 'FILE', describe: 'age identity file (AGE-SECRET-KEY-1..., as age-keygen writes it) that reads an encrypted repository: keep it on the restore and drill hosts, never on the backup host (repo rekey: the identity that reads the stored files now)' },
  { flag: 's3-object-lock', type: 'duration', tasks: ['repo-init'], noConfig: true, describe: 'store every object of a set and every archived WAL file under S3 object lock for this long after it is written (the bucket must have object lock enabled; needs --s3-object-lock-mode)' },
  { flag: 's3-object-lock-mode', type: 'choice', tasks: ['repo-init'], noConfig: true, choices: ['compliance', 'governance'], describe: 'compliance: no credential, root included, deletes or shortens a retention; governance: s3:BypassGovernanceRetention can' },
  { flag: 'deep', type: 'boolean', tasks: ['verify'], env: ['PGOPS_DEEP'], default: false, describe: 'also decrypt every file of an encrypted repository and check the sha256 of its plaintext (needs --identity); without it verify checks the stored ciphertext, which needs no key' },

  { flag: 's3-endpoint', type: 'string', tasks: S3, env: ['PGOPS_S3_ENDPOINT', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'], placeholder: 'URL', describe: 'S3-compatible endpoint (MinIO, Ceph, ...); AWS when absent' },
  { flag: 's3-region', type: 'string', tasks: S3, env: ['PGOPS_S3_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'], placeholder: 'REGION', describe: "the bucket's region (default, as the AWS CLI finds it: the region of the profile AWS_PROFILE, else default, in AWS_CONFIG_FILE or ~/.aws/config; on EC2 the instance's region; with --s3-endpoint us-east-1 when none is set)" },
  { flag: 's3-path-style', type: 'boolean', tasks: S3, env: ['PGOPS_S3_PATH_STYLE'], default: false, describe: 'path-style addressing (endpoint/bucket/key), as most S3-compatible servers need' },
  { flag: 's3-checksum', type: 'choice', tasks: S3, env: ['PGOPS_S3_CHECKSUM'], choices: ['when-supported', 'when-required'], default: 'when-supported', describe: 'when-required for stores that reject or mis-store the newest SDK checksum headers' },
  { flag: 's3-part-size', type: 'size', tasks: S3, env: ['PGOPS_S3_PART_SIZE'], default: '16MB', describe: 'multipart upload part size (memory used is about 4 parts)' },
  { flag: 's3-max-attempts', type: 'integer', tasks: S3, env: ['PGOPS_S3_MAX_ATTEMPTS'], default: 5, min: 1, describe: 'attempts per S3 request; 5xx, throttling and connection resets are retried with backoff' },
  { flag: 's3-sse', type: 'choice', tasks: S3, env: ['PGOPS_S3_SSE'], choices: ['AES256', 'aws:kms'], describe: 'server-side encryption of every object pgops writes: AES256 (SSE-S3, keys managed by S3) or aws:kms (SSE-KMS: the AWS-managed key aws/s3 unless --s3-sse-kms-key-id)' },
  { flag: 's3-sse-kms-key-id', type: 'string', tasks: S3, env: ['PGOPS_S3_SSE_KMS_KEY_ID'], placeholder: 'KEY', describe: 'the KMS key of SSE-KMS: key id, alias/NAME or ARN (implies --s3-sse aws:kms); the credentials need kms:GenerateDataKey and kms:Decrypt on it' },

  { flag: 'format', type: 'choice', tasks: ['backup'], env: ['PGOPS_FORMAT'], choices: ['custom', 'directory'], default: 'custom', describe: 'pg_dump format: custom (streamed) or directory (parallel with --jobs)' },
  { flag: 'jobs', type: 'integer', tasks: ['backup', 'restore', 'drill'], env: ['PGOPS_JOBS'], default: 1, min: 1, alias: 'j', describe: 'parallel jobs (backup: directory format only; restore: pg_restore -j)' },
  { flag: 'compress', type: 'string', tasks: ['backup', 'basebackup'], env: ['PGOPS_COMPRESS'], placeholder: 'METHOD[:LEVEL]', describe: "backup: pg_dump's --compress value (default: pg_dump's own); basebackup: none (default), gzip, lz4 or zstd, with an optional :LEVEL, applied to the tar stream on its way into the repository" },
  { flag: 'fingerprint', type: 'choice', tasks: ['backup'], env: ['PGOPS_FINGERPRINT'], choices: ['hash', 'count', 'none'], default: 'count', describe: 'per-table fingerprints taken in the dump snapshot, which drills compare: row counts (default), counts plus a content hash (reads every row once more while pg_dump runs), or none' },
  { flag: 'label', type: 'string', tasks: ['backup', 'basebackup'], noConfig: true, placeholder: 'NAME', describe: 'a name for the set (pre-migration-42): shown in backups list, restorable as --backup label:NAME' },
  { flag: 'pin', type: 'duration', tasks: ['backup', 'basebackup'], noConfig: true, describe: 'no retention rule prunes the set until this long from now (30d); shown in backups list' },
  { flag: 'lock-wait-timeout', type: 'duration', tasks: ['backup'], env: ['PGOPS_LOCK_WAIT_TIMEOUT'], default: '5m', describe: "how long pg_dump waits for a table's lock before failing" },
  { flag: 'pg-bin', type: 'string', tasks: ['backup', 'basebackup', 'recover', 'restore', 'drill', 'partitions-prune'], env: ['PGOPS_PG_BIN'], placeholder: 'DIR', describe: 'folder holding the PostgreSQL programs pgops runs: pg_dump, pg_restore, pg_dumpall, psql, pg_basebackup, pg_verifybackup, pg_ctl (default: the newest found)' },
  { flag: 'tmp-dir', type: 'string', tasks: ['backup', 'restore', 'drill'], env: ['PGOPS_TMP_DIR', 'TMPDIR'], placeholder: 'DIR', describe: 'where directory-format dumps and parallel restores stage files (drill --pitr: where the scratch data directory goes)' },

  { flag: 'backup', type: 'string', tasks: ['restore', 'drill', 'recover'], env: ['PGOPS_BACKUP'], default: 'latest', noConfig: true, placeholder: 'ID', describe: 'backup id, label:NAME (the set made with --label NAME), latest (the newest complete set; recover: the newest base backup that ended before the target) or verified (the newest complete set whose newest drill passed)' },
  { flag: 'from-db', type: 'string', tasks: ['restore', 'drill'], env: ['PGOPS_FROM_DB'], placeholder: 'NAME', describe: 'the backed-up database whose sets to use (needed when the repository holds several)' },
  { flag: 'to', type: 'string', tasks: ['restore'], env: ['PGOPS_RESTORE_TO'], noConfig: true, placeholder: 'CONNINFO', describe: 'the database to restore into, as --db takes it (a URL, host=... dbname=... pairs, service=NAME)' },
  { flag: 'create', type: 'boolean', tasks: ['restore'], default: false, noConfig: true, describe: "create the target database when it does not exist, with the backed-up database's encoding, locale, owner, comment, settings and privileges (as pg_restore --create)" },
  { flag: 'clean', type: 'boolean', tasks: ['restore'], default: false, noConfig: true, describe: 'drop objects of the backup that already exist in the target before restoring them' },
  { flag: 'force', type: 'boolean', tasks: ['restore'], default: false, noConfig: true, describe: 'allow restoring into the very database the backup came from' },
  { flag: 'globals', type: 'boolean', tasks: ['restore'], default: false, noConfig: true, describe: 'restore roles (and tablespaces) first; roles that exist already are kept' },
  { flag: 'no-owner', type: 'boolean', tasks: ['restore'], default: false, noConfig: true, describe: 'do not restore ownership or privileges, of the objects and of a created database (when the roles do not exist on the target)' },
  { flag: 'skip-unavailable-properties', type: 'boolean', tasks: ['restore', 'drill'], env: ['PGOPS_SKIP_UNAVAILABLE_PROPERTIES'], default: false, describe: "create the database without the properties the target server cannot reproduce (a tablespace it lacks, ICU support, a locale its system lacks) instead of refusing; the result lists them, and a drill fails on them" },
  { flag: 'table', type: 'list', tasks: ['restore'], noConfig: true, placeholder: 'SCHEMA.TABLE', describe: 'restore only this table (repeatable)' },
  { flag: 'schema', type: 'list', tasks: ['restore'], noConfig: true, placeholder: 'NAME', describe: 'restore only this schema (repeatable)' },

  // basebackup, recover, drill --pitr
  { flag: 'archive-timeout', type: 'duration', tasks: ['basebackup'], env: ['PGOPS_ARCHIVE_TIMEOUT'], default: '5m', describe: "how long basebackup waits for the backup's stop segment to be archived before it fails (archiving is broken or slow)" },
  { flag: 'system-id', type: 'string', tasks: ['wal-push', 'wal-fetch', 'wal-check', 'recover', 'drill'], env: ['PGOPS_SYSTEM_ID'], placeholder: 'ID', describe: "database system identifier whose wal/<ID>/ (and basebackups/<ID>/) folder to use (default: push: the segment's header, else global/pg_control in --pgdata; fetch: pg_control, else the repository's only system; check: the server's; recover and drill --pitr: the repository's only system)" },
  { flag: 'target-time', type: 'string', tasks: ['recover', 'drill'], noConfig: true, placeholder: 'TIMESTAMP', describe: "recover up to this moment (recovery_target_time: '2026-11-30 03:12:00+00'); replay stops before the first transaction that committed after it" },
  { flag: 'target-lsn', type: 'string', tasks: ['recover', 'drill'], noConfig: true, placeholder: 'LSN', describe: 'recover up to this WAL location (recovery_target_lsn: 0/5000060)' },
  { flag: 'target-xid', type: 'string', tasks: ['recover', 'drill'], noConfig: true, placeholder: 'XID', describe: 'recover up to and including this transaction (recovery_target_xid)' },
  { flag: 'target-name', type: 'string', tasks: ['recover', 'drill'], noConfig: true, placeholder: 'NAME', describe: 'recover up to this restore point (recovery_target_name; every base backup creates one named after its id)' },
  { flag: 'target-action', type: 'choice', tasks: ['recover'], env: ['PGOPS_TARGET_ACTION'], choices: ['promote', 'pause', 'shutdown'], default: 'promote', describe: 'what the server does at the target (recovery_target_action): promote (a new timeline, open for writes), pause (read-only, to look first) or shutdown' },
  { flag: 'pgdata', type: 'string', tasks: ['wal-push', 'wal-fetch', 'recover'], env: ['PGOPS_PGDATA', 'PGDATA'], placeholder: 'DIR', describe: 'data directory: wal push and fetch read the system identifier from its global/pg_control (default: the current directory, which is the data directory for archive_command and restore_command); recover lays the base backup down into it (absent or empty)' },
  { flag: 'os-user', type: 'string', tasks: ['recover', 'drill'], env: ['PGOPS_OS_USER'], default: 'postgres', placeholder: 'USER', describe: 'when pgops runs as root: the unprivileged user that owns the laid-down files and runs the server (PostgreSQL refuses root)' },
  { flag: 'archive-mode', type: 'choice', tasks: ['recover'], env: ['PGOPS_ARCHIVE_MODE'], choices: ['preserve', 'off'], default: 'preserve', describe: "preserve: the recovered server archives as the backed-up one did (after promotion, into a new timeline of the same archive); off: archive_mode = off in postgresql.auto.conf" },
  { flag: 'start', type: 'boolean', tasks: ['recover'], default: false, noConfig: true, describe: 'start the recovered server (needs --port), wait until recovery reaches the target, and report where it stopped' },
  { flag: 'port', type: 'integer', tasks: ['recover'], min: 1, max: 65535, noConfig: true, placeholder: 'PORT', describe: 'the port the recovered server listens on (with --start)' },
  { flag: 'recovery-timeout', type: 'duration', tasks: ['recover', 'drill'], env: ['PGOPS_RECOVERY_TIMEOUT'], default: '6h', describe: 'recover --start and drill --pitr: how long to wait for the replay to reach the target before giving up' },
  { flag: 'pitr', type: 'boolean', tasks: ['drill'], default: false, noConfig: true, describe: 'drill the physical path: recover the newest base backup (or --backup) into a scratch data directory, start a throwaway server, replay to the target (default: the end of the archive) and check it' },

  { flag: 'keep-last', type: 'integer', tasks: ['prune'], env: ['PGOPS_KEEP_LAST'], min: 1, describe: 'keep the newest N complete sets' },
  { flag: 'keep-daily', type: 'integer', tasks: ['prune'], env: ['PGOPS_KEEP_DAILY'], default: 0, min: 0, describe: 'keep the newest set of each of the last N days that have one' },
  { flag: 'keep-weekly', type: 'integer', tasks: ['prune'], env: ['PGOPS_KEEP_WEEKLY'], default: 0, min: 0, describe: 'keep the newest set of each of the last N ISO weeks that have one' },
  { flag: 'keep-monthly', type: 'integer', tasks: ['prune'], env: ['PGOPS_KEEP_MONTHLY'], default: 0, min: 0, describe: 'keep the newest set of each of the last N months that have one' },
  { flag: 'incomplete-grace', type: 'duration', tasks: ['prune'], env: ['PGOPS_INCOMPLETE_GRACE'], default: '24h', describe: 'incomplete sets (no manifest) younger than this are left alone: a backup may be writing them; a set whose backup is still running (its lease.json names a live process, or has not expired) is never deleted, whatever the grace' },

  { flag: 'drill-target', type: 'string', tasks: ['drill'], env: ['PGOPS_DRILL_TARGET'], placeholder: 'CONNINFO', describe: 'server to restore drills on, as --db takes it (postgresql://user@host:port/maintenance-db, or host=... pairs; the postgres database when it names none); the scratch database is created there' },
  { flag: 'max-rpo', type: 'duration', tasks: ['drill'], env: ['PGOPS_MAX_RPO'], describe: 'fail the drill when the backup (--pitr: the last replayed transaction) is older than this at drill start' },
  { flag: 'max-rto', type: 'duration', tasks: ['drill'], env: ['PGOPS_MAX_RTO'], describe: 'fail the drill when download, verification and restore (--pitr: download, lay-down and replay) take longer than this' },
  { flag: 'assert', type: 'list', tasks: ['drill'], env: ['PGOPS_ASSERT'], placeholder: 'FILE', describe: 'YAML file of SQL assertions run against the restored database (repeatable)' },
  { flag: 'amcheck', type: 'boolean', tasks: ['drill'], env: ['PGOPS_AMCHECK'], default: false, describe: 'check every B-tree index with amcheck (bt_index_check) after the restore' },
  { flag: 'keep', type: 'boolean', tasks: ['drill'], default: false, noConfig: true, describe: 'keep the scratch database after the drill (--pitr: the scratch data directory and its running server), for investigation' },
  { flag: 'statement-timeout', type: 'duration', tasks: ['drill', ...MAINTENANCE], env: ['PGOPS_STATEMENT_TIMEOUT'], default: '5m', describe: 'statement_timeout for the queries a task runs (drill checks and assertions, maintenance statements)' },
  { flag: 'lock-timeout', type: 'duration', tasks: [...MAINTENANCE], env: ['PGOPS_LOCK_TIMEOUT'], default: '5s', describe: 'lock_timeout: a maintenance statement gives up rather than queue behind a long lock and block the application' },

  { flag: 'max-backup-age', type: 'duration', tasks: ['status'], env: ['PGOPS_MAX_BACKUP_AGE'], default: '26h', describe: 'WARNING when the newest complete backup is older' },
  { flag: 'critical-backup-age', type: 'duration', tasks: ['status'], env: ['PGOPS_CRITICAL_BACKUP_AGE'], describe: 'CRITICAL when the newest complete backup is older (default: twice --max-backup-age)' },
  { flag: 'max-drill-age', type: 'duration', tasks: ['status'], env: ['PGOPS_MAX_DRILL_AGE'], default: '8d', describe: 'WARNING when the newest passing drill is older' },
  { flag: 'critical-drill-age', type: 'duration', tasks: ['status'], env: ['PGOPS_CRITICAL_DRILL_AGE'], describe: 'CRITICAL when the newest passing drill is older (default: twice --max-drill-age)' },
  { flag: 'max-basebackup-age', type: 'duration', tasks: ['status'], env: ['PGOPS_MAX_BASEBACKUP_AGE'], default: '8d', describe: 'WARNING when the newest complete base backup is older (checked when the repository holds base backups)' },
  { flag: 'critical-basebackup-age', type: 'duration', tasks: ['status'], env: ['PGOPS_CRITICAL_BASEBACKUP_AGE'], describe: 'CRITICAL when the newest complete base backup is older (default: twice --max-basebackup-age)' },
  { flag: 'max-pitr-drill-age', type: 'duration', tasks: ['status'], env: ['PGOPS_MAX_PITR_DRILL_AGE'], default: '8d', describe: 'WARNING when the newest passing point-in-time drill is older (checked when the repository holds base backups)' },
  { flag: 'critical-pitr-drill-age', type: 'duration', tasks: ['status'], env: ['PGOPS_CRITICAL_PITR_DRILL_AGE'], describe: 'CRITICAL when the newest passing point-in-time drill is older (default: twice --max-pitr-drill-age)' },
  { flag: 'timeout', alias: 't', type: 'duration', tasks: ['status', 'health', 'wal-check', 'partitions-check', 'verify'], env: ['PGOPS_TIMEOUT'], describe: 'a check gives up after this long: it stops its work (ends its database session, so no query of it runs on) and prints UNKNOWN timed out, exit 3 (default: 50s, below the 60s after which Nagios kills a plugin; verify: no limit, as it reads the whole repository; 0: no limit)' },
  { flag: 'parallel', type: 'integer', tasks: ['verify'], env: ['PGOPS_PARALLEL'], default: 4, min: 1, describe: 'verify: how many stored files are read and hashed at once (each streams; memory does not grow with file size)' },

  // --- WAL archiving options (wal push, wal fetch, wal check) go here ---
  { flag: 'wal-compress', type: 'choice', tasks: ['wal-push'], env: ['PGOPS_WAL_COMPRESS'], choices: ['none', 'gzip', 'brotli'], default: 'none', describe: 'compress pushed WAL files: gzip (level 1) or brotli (quality 1); wal fetch reads whatever was stored' },
  { flag: 'max-archive-age', type: 'duration', tasks: ['wal-check'], env: ['PGOPS_MAX_ARCHIVE_AGE'], default: '10m', describe: 'WARNING when WAL files wait to be archived and the last one archived is older than this' },
  { flag: 'critical-archive-age', type: 'duration', tasks: ['wal-check'], env: ['PGOPS_CRITICAL_ARCHIVE_AGE'], describe: 'CRITICAL when WAL files wait and the last one archived is older than this (default: twice --max-archive-age)' },
  { flag: 'max-ready', type: 'integer', tasks: ['wal-check'], env: ['PGOPS_MAX_READY'], default: 10, min: 0, describe: 'WARNING when more WAL files than this wait to be archived (.ready files in pg_wal/archive_status)' },
  { flag: 'critical-ready', type: 'integer', tasks: ['wal-check'], env: ['PGOPS_CRITICAL_READY'], min: 0, describe: 'CRITICAL when more WAL files than this wait to be archived (default: 10 times --max-ready)' },
  { flag: 'max-pg-wal-size', type: 'size', tasks: ['wal-check'], env: ['PGOPS_MAX_PG_WAL_SIZE'], describe: "WARNING when pg_wal holds more than this (default: twice max_wal_size plus wal_keep_size)" },
  { flag: 'critical-pg-wal-size', type: 'size', tasks: ['wal-check'], env: ['PGOPS_CRITICAL_PG_WAL_SIZE'], describe: 'CRITICAL when pg_wal holds more than this (default: twice --max-pg-wal-size)' },
  { flag: 'wal-window', type: 'string', tasks: ['wal-check'], env: ['PGOPS_WAL_WINDOW'], default: 'backup', placeholder: 'WINDOW', describe: 'where the continuity check starts: backup (the start of the oldest complete base backup, else the oldest base backup label in the archive, else the oldest segment), all (the oldest segment), or a duration (segments archived in the last 24h, ...)' },
  { flag: 'switch', type: 'boolean', tasks: ['wal-check'], env: ['PGOPS_SWITCH'], default: false, describe: 'call pg_switch_wal() and wait until that segment is in the repository (needs --repo and EXECUTE on pg_switch_wal)' },
  { flag: 'switch-timeout', type: 'duration', tasks: ['wal-check'], env: ['PGOPS_SWITCH_TIMEOUT'], default: '60s', describe: 'how long --switch waits for the segment to reach the repository' },

  // --- maintenance options (reindex, analyze, idle-cleanup, partitions, refresh-matviews, health) go here ---

  // idle-cleanup
  { flag: 'idle', type: 'duration', tasks: ['idle-cleanup'], env: ['PGOPS_IDLE'], describe: 'terminate client sessions idle (state idle, counted from state_change) for longer than this' },
  { flag: 'idle-in-transaction', type: 'duration', tasks: ['idle-cleanup'], env: ['PGOPS_IDLE_IN_TRANSACTION'], describe: 'terminate client sessions idle in a transaction (counted from state_change) for longer than this' },
  { flag: 'include-superusers', type: 'boolean', tasks: ['idle-cleanup'], env: ['PGOPS_INCLUDE_SUPERUSERS'], default: false, describe: "also terminate superusers' sessions (left alone by default)" },
  { flag: 'exclude-user', type: 'list', tasks: ['idle-cleanup'], env: ['PGOPS_EXCLUDE_USER'], placeholder: 'ROLE', describe: 'never terminate sessions of this role (repeatable; a list in config)' },
  { flag: 'exclude-app', type: 'list', tasks: ['idle-cleanup'], env: ['PGOPS_EXCLUDE_APP'], placeholder: 'NAME', describe: 'never terminate sessions with this application_name (repeatable; a list in config)' },
  { flag: 'exclude-db', type: 'list', tasks: ['idle-cleanup'], env: ['PGOPS_EXCLUDE_DB'], placeholder: 'NAME', describe: 'never terminate sessions connected to this database (repeatable; a list in config)' },
  { flag: 'max', type: 'integer', tasks: ['idle-cleanup'], env: ['PGOPS_MAX'], default: 50, min: 1, describe: 'terminate at most this many sessions per run (idle in transaction first, longest idle first)' },

  // partitions create, prune, check
  { flag: 'partition-table', alias: 'table', type: 'list', tasks: ['partitions-create', 'partitions-prune', 'partitions-check'], env: ['PGOPS_PARTITION_TABLE'], placeholder: 'SCHEMA.TABLE', describe: 'a range-partitioned table to manage (repeatable, also as --table; a list in config)' },
  { flag: 'interval', type: 'choice', tasks: ['partitions-create', 'partitions-prune', 'partitions-check'], env: ['PGOPS_INTERVAL'], choices: ['day', 'week', 'month', 'year'], describe: "one partition's period (default: inferred from the newest existing partition)" },
  { flag: 'ahead', type: 'integer', tasks: ['partitions-create', 'partitions-check'], env: ['PGOPS_AHEAD'], default: 3, min: 1, describe: 'future periods that must have a partition: create makes them, check warns when fewer exist' },
  { flag: 'partition-name', type: 'string', tasks: ['partitions-create'], env: ['PGOPS_PARTITION_NAME'], placeholder: 'PATTERN', describe: 'name pattern of new partitions from {parent} {YYYY} {MM} {DD} {IYYY} {IW} (default: {parent}_p{YYYY}_{MM} for month, _p{YYYY}_{MM}_{DD} day, _p{IYYY}w{IW} week, _p{YYYY} year)' },
  { flag: 'partition-timezone', type: 'string', tasks: ['partitions-create', 'partitions-prune', 'partitions-check'], env: ['PGOPS_PARTITION_TIMEZONE'], default: 'UTC', placeholder: 'ZONE', describe: 'time zone whose calendar the periods follow: the bounds of timestamptz keys, and which period is the current one' },
  { flag: 'keep-periods', alias: 'keep', type: 'integer', tasks: ['partitions-prune'], env: ['PGOPS_KEEP_PERIODS'], min: 1, describe: 'prune partitions older than the current period and the N before it (also as --keep)' },
  { flag: 'drop', type: 'boolean', tasks: ['partitions-prune'], default: false, noConfig: true, describe: 'drop the pruned partitions (default: detach them, leaving standalone tables)' },
  { flag: 'archive', type: 'boolean', tasks: ['partitions-prune'], env: ['PGOPS_ARCHIVE'], default: false, describe: 'first dump each pruned partition with pg_dump into the repository (--repo)' },

  // health
  { flag: 'connections-warning', type: 'integer', tasks: ['health'], env: ['PGOPS_CONNECTIONS_WARNING'], default: 80, min: 0, max: 100, placeholder: 'PERCENT', describe: 'WARNING when client connections use more than this % of max_connections' },
  { flag: 'connections-critical', type: 'integer', tasks: ['health'], env: ['PGOPS_CONNECTIONS_CRITICAL'], default: 95, min: 0, max: 100, placeholder: 'PERCENT', describe: 'CRITICAL when client connections use more than this % of max_connections' },
  { flag: 'cache-hit-warning', type: 'integer', tasks: ['health'], env: ['PGOPS_CACHE_HIT_WARNING'], default: 95, min: 0, max: 100, placeholder: 'PERCENT', describe: "WARNING when the database's buffer cache hit ratio is below this %" },
  { flag: 'cache-hit-critical', type: 'integer', tasks: ['health'], env: ['PGOPS_CACHE_HIT_CRITICAL'], default: 90, min: 0, max: 100, placeholder: 'PERCENT', describe: "CRITICAL when the database's buffer cache hit ratio is below this %" },
  { flag: 'transaction-age-warning', type: 'duration', tasks: ['health'], env: ['PGOPS_TRANSACTION_AGE_WARNING'], default: '15m', describe: 'WARNING when a client transaction has been open longer' },
  { flag: 'transaction-age-critical', type: 'duration', tasks: ['health'], env: ['PGOPS_TRANSACTION_AGE_CRITICAL'], default: '1h', describe: 'CRITICAL when a client transaction has been open longer' },
  { flag: 'idle-in-transaction-warning', type: 'duration', tasks: ['health'], env: ['PGOPS_IDLE_IN_TRANSACTION_WARNING'], default: '5m', describe: 'WARNING when a session has been idle in a transaction longer' },
  { flag: 'idle-in-transaction-critical', type: 'duration', tasks: ['health'], env: ['PGOPS_IDLE_IN_TRANSACTION_CRITICAL'], default: '30m', describe: 'CRITICAL when a session has been idle in a transaction longer' },
  { flag: 'lock-wait-warning', type: 'duration', tasks: ['health'], env: ['PGOPS_LOCK_WAIT_WARNING'], default: '30s', describe: 'WARNING when a session has waited longer for a lock another session holds' },
  { flag: 'lock-wait-critical', type: 'duration', tasks: ['health'], env: ['PGOPS_LOCK_WAIT_CRITICAL'], default: '5m', describe: 'CRITICAL when a session has waited longer for a lock another session holds' },
  { flag: 'slow-statement-warning', type: 'duration', tasks: ['health'], env: ['PGOPS_SLOW_STATEMENT_WARNING'], describe: "WARNING when a statement's mean time in pg_stat_statements is longer (default: listed, not graded)" },
  { flag: 'slow-statement-critical', type: 'duration', tasks: ['health'], env: ['PGOPS_SLOW_STATEMENT_CRITICAL'], describe: "CRITICAL when a statement's mean time in pg_stat_statements is longer (default: listed, not graded)" },
  { flag: 'unused-index-min-size', type: 'size', tasks: ['health'], env: ['PGOPS_UNUSED_INDEX_MIN_SIZE'], default: '1MB', describe: 'list never-scanned indexes from this size (unique and primary-key indexes are never listed)' },
  { flag: 'database-size-warning', type: 'size', tasks: ['health'], env: ['PGOPS_DATABASE_SIZE_WARNING'], describe: 'WARNING when a database is larger (default: listed, not graded)' },
  { flag: 'database-size-critical', type: 'size', tasks: ['health'], env: ['PGOPS_DATABASE_SIZE_CRITICAL'], describe: 'CRITICAL when a database is larger (default: listed, not graded)' },
  { flag: 'dead-tuples-warning', type: 'integer', tasks: ['health'], env: ['PGOPS_DEAD_TUPLES_WARNING'], default: 20, min: 0, max: 100, placeholder: 'PERCENT', describe: "WARNING when more than this % of a table's rows are dead" },
  { flag: 'dead-tuples-critical', type: 'integer', tasks: ['health'], env: ['PGOPS_DEAD_TUPLES_CRITICAL'], default: 50, min: 0, max: 100, placeholder: 'PERCENT', describe: "CRITICAL when more than this % of a table's rows are dead" },
  { flag: 'dead-tuples-min', type: 'integer', tasks: ['health'], env: ['PGOPS_DEAD_TUPLES_MIN'], default: 1000, placeholder: 'ROWS', describe: 'grade the dead-tuple ratio only of tables with at least this many dead rows' },
  { flag: 'xid-age-warning', type: 'integer', tasks: ['health'], env: ['PGOPS_XID_AGE_WARNING'], default: 50, min: 0, max: 100, placeholder: 'PERCENT', describe: 'WARNING when the oldest transaction or multixact ID of a database is more than this % of the way to wraparound (2^31)' },
  { flag: 'xid-age-critical', type: 'integer', tasks: ['health'], env: ['PGOPS_XID_AGE_CRITICAL'], default: 75, min: 0, max: 100, placeholder: 'PERCENT', describe: 'CRITICAL when the oldest transaction or multixact ID of a database is more than this % of the way to wraparound (2^31)' },
  { flag: 'top', type: 'integer', tasks: ['health'], env: ['PGOPS_TOP'], default: 5, min: 1, describe: 'how many rows each list shows (longest transactions, slowest statements, largest tables, ...)' },
  { flag: 'report', type: 'string', tasks: ['health'], env: ['PGOPS_REPORT'], placeholder: 'FILE', describe: 'also write the report as markdown to FILE (- prints it on stdout instead of the status lines)' },
  { flag: 'lock-retries', type: 'integer', tasks: ['reindex', 'analyze', 'refresh-matviews'], env: ['PGOPS_LOCK_RETRIES'], default: 3, min: 0, describe: 'how many times a statement that hit lock_timeout (or a deadlock) is tried again, with backoff' },
  { flag: 'lock-retry-delay', type: 'duration', tasks: ['reindex', 'analyze', 'refresh-matviews'], env: ['PGOPS_LOCK_RETRY_DELAY'], default: '10s', describe: 'wait before the first retry after a lock timeout; doubles with each further retry' },
  { flag: 'action-timeout', type: 'duration', tasks: ['reindex', 'analyze', 'refresh-matviews'], env: ['PGOPS_ACTION_TIMEOUT'], default: '0', describe: 'statement_timeout of each REINDEX, DROP INDEX, ANALYZE/VACUUM or REFRESH statement itself (0: none; their lock waits stay bounded by --lock-timeout, --statement-timeout bounds the queries around them)' },
  { flag: 'min-size', type: 'size', tasks: ['reindex'], env: ['PGOPS_MIN_SIZE'], default: '10MB', describe: 'reindex: only B-tree indexes at least this big are checked for bloat' },
  { flag: 'min-bloat', type: 'integer', tasks: ['reindex'], env: ['PGOPS_MIN_BLOAT'], default: 30, min: 0, max: 100, placeholder: 'PERCENT', describe: 'reindex: rebuild an index when its estimated bloat is at least this percentage of its size' },
  { flag: 'index', type: 'list', tasks: ['reindex'], placeholder: 'SCHEMA.INDEX', describe: 'reindex: rebuild exactly these indexes, whatever their bloat (repeatable)' },
  { flag: 'max-indexes', type: 'integer', tasks: ['reindex'], env: ['PGOPS_MAX_INDEXES'], default: 10, min: 1, describe: 'reindex: rebuild at most this many indexes per run (invalid ones first, then the most space to win)' },
  { flag: 'max-duration', type: 'duration', tasks: ['reindex'], env: ['PGOPS_MAX_DURATION'], default: '2h', describe: 'reindex: start no rebuild once the run is this old; a rebuild already running is not interrupted' },
  { flag: 'vacuum', type: 'boolean', tasks: ['analyze'], env: ['PGOPS_VACUUM'], default: false, describe: 'analyze: run VACUUM (ANALYZE) instead of ANALYZE' },
  { flag: 'matview', type: 'list', tasks: ['refresh-matviews'], env: ['PGOPS_MATVIEW'], placeholder: 'SCHEMA.NAME', describe: 'refresh-matviews: refresh this materialized view (repeatable; default: all of them)' },
  { flag: 'concurrently-only', type: 'boolean', tasks: ['refresh-matviews'], env: ['PGOPS_CONCURRENTLY_ONLY'], default: false, describe: 'refresh-matviews: skip the views that cannot be refreshed CONCURRENTLY (a plain refresh blocks their readers)' },

  { flag: 'execute', type: 'boolean', tasks: ['prune', 'repo-rekey', ...MAINTENANCE], default: false, noConfig: true, describe: 'carry out the plan (without it, only print it)' },
] as const satisfies readonly OptionDef[];

// The same table, each row as an OptionDef (help, docs, the config's keys: code that reads any row).
export const OPTION_DEFS: readonly OptionDef[] = OPTIONS;

type Def = (typeof OPTIONS)[number];
// keep-last -> keepLast, as keyOf does at run time
type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;
// what convert() makes of a value of the option's type
type ValueOf<D> = D extends { type: 'boolean' } ? boolean
  : D extends { type: 'integer' | 'duration' | 'size' } ? number
  : D extends { type: 'list' } ? string[]
  : D extends { type: 'choice'; choices: readonly (infer C)[] } ? C
  : string;
type AcceptedBy<D, T extends TaskName> = D extends { tasks: '*' } ? D : D extends { tasks: readonly (infer X)[] } ? ([T] extends [X] ? D : never) : never;
type Accepted<T extends TaskName> = AcceptedBy<Def, T>;

// The resolved options of task T, keyed by camelCase flag: an option with a default is always there, one without may
// be absent. Durations are milliseconds, sizes bytes, lists arrays.
export type OptionsOf<T extends TaskName> =
  { [D in Accepted<T> as D extends { default: unknown } ? CamelCase<D['flag']> : never]: ValueOf<D> } &
  { [D in Accepted<T> as D extends { default: unknown } ? never : CamelCase<D['flag']>]?: ValueOf<D> };


export type OptionValues = Record<string, unknown>;
export type OptionSource = 'flag' | 'env' | 'config' | 'default';

// The options a task accepts, in table order.
export function optionsFor(task: TaskName): OptionDef[] {
  return OPTION_DEFS.filter((o) => o.tasks === '*' || o.tasks.includes(task));
}

// camelCase key of a flag: keep-last -> keepLast.
export function keyOf(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

// Resolves every option of a task (or only the flags in `only`): flags > environment > config target > defaults;
// validates and converts.
export function resolveOptions(
  task: TaskName,
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  config: Record<string, unknown> = {},
  only?: readonly string[],
): { values: OptionValues; sources: Record<string, OptionSource> } {
  const values: OptionValues = {};
  const sources: Record<string, OptionSource> = {};
  for (const def of optionsFor(task)) {
    if (only && !only.includes(def.flag)) continue;
    let raw: unknown;
    let source: OptionSource | undefined;
    let origin = '';
    if (flags[def.flag] !== undefined && !(Array.isArray(flags[def.flag]) && (flags[def.flag] as unknown[]).length === 0)) {
      raw = flags[def.flag];
      source = 'flag';
      origin = `--${def.flag}`;
    } else if (def.env?.some((name) => env[name] !== undefined && env[name] !== '')) {
      const name = def.env.find((n) => env[n] !== undefined && env[n] !== '')!;
      raw = env[name];
      source = 'env';
      origin = `${name} (environment)`;
    } else if (!def.noConfig && config[def.flag] !== undefined) {
      raw = config[def.flag];
      source = 'config';
      origin = `${def.flag} (config file)`;
    } else if (def.default !== undefined) {
      raw = def.default;
      source = 'default';
      origin = `--${def.flag} (default)`;
    }
    if (source === undefined) continue;
    values[keyOf(def.flag)] = convert(def, raw, origin);
    sources[keyOf(def.flag)] = source;
  }
  return { values, sources };
}

// Converts one raw value (a string from env, anything from yargs or YAML) to the option's type.
export function convert(def: OptionDef, raw: unknown, origin = `--${def.flag}`): unknown {
  const text = Array.isArray(raw) ? raw.map(String) : String(raw);
  switch (def.type) {
    case 'string':
      if (Array.isArray(raw)) throw usageError(`${origin} was given ${raw.length} times`, `give --${def.flag} once`);
      return String(raw);
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const t = String(raw).toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(t)) return true;
      if (['0', 'false', 'no', 'off'].includes(t)) return false;
      throw usageError(`invalid ${origin} "${raw}": expected true or false`);
    }
    case 'integer': {
      const n = Number(text);
      if (!Number.isInteger(n) || n < (def.min ?? 0) || n > (def.max ?? Infinity)) {
        const range = def.max === undefined ? `of at least ${def.min ?? 0}` : `from ${def.min ?? 0} to ${def.max}`;
        throw usageError(`invalid ${origin} "${text}": expected a whole number ${range}`);
      }
      return n;
    }
    case 'duration':
      return parseDuration(String(text), origin);
    case 'size':
      return parseSize(String(text), origin);
    case 'choice': {
      if (!def.choices!.includes(String(text))) {
        throw usageError(`invalid ${origin} "${text}": expected one of ${def.choices!.join(', ')}`);
      }
      return String(text);
    }
    case 'list': {
      const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(',').map((s) => s.trim());
      return items.filter((s) => s !== '');
    }
  }
}
