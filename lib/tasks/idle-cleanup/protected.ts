// Sessions idle-cleanup never terminates, whatever the options: backups, restores and replication sit idle (or idle
// in a transaction) for as long as they run, and ending them fails the very job the runbooks depend on.
//
// A backup's lock-and-snapshot session ('pgops backup') is idle in transaction for the whole dump, and so is the
// leader of a parallel pg_dump while its workers copy; the hourly `--idle-in-transaction 10m` would fail every
// backup longer than ten minutes.
//
// Trade-off: sessions of programs are recognised by application_name, which any client sets as it likes, so a session
// that calls itself "pg_dump" or "pgops backup" is kept too. We accept that: terminating a real backup fails it
// silently until a monitor notices a day later, while a session that hides behind a backup's name stays visible (it
// is listed as kept, with its user, application and last query, in every plan and summary, and `pgops health` reports
// long transactions whatever their name). No stronger check exists that a look-alike could not also pass: the
// backup's advisory lock can be taken by anyone, pg_dump's and the fingerprint sessions hold none, and an exported
// snapshot is not visible in the catalogue. Roles that must not dodge the limit get the server's own
// `idle_in_transaction_session_timeout` (ALTER ROLE ... SET), which no application_name escapes; never set it on the
// role that runs backups. Walsenders and logical replication workers are recognised by backend_type, which a client
// cannot choose.

// The application_name of every session pgops opens is "pgops" (the pg_dump, pg_dumpall, pg_restore and psql it
// runs: PGAPPNAME) or "pgops <task>" (its own connections: lib/pg/connection.ts connect()).
const OWN_SESSION: Record<string, string> = {
  'pgops backup': "a pgops backup's snapshot session: terminating it fails the backup",
  'pgops backup fingerprints': "a pgops backup's fingerprint session: terminating it fails the backup",
  pgops: 'a PostgreSQL program run by pgops (pg_dump, pg_dumpall, pg_restore, psql): terminating it fails its task',
  'pgops restore': 'a pgops restore session: terminating it fails the restore',
  'pgops drill': 'a pgops restore drill session: terminating it fails the drill',
};

// The default application_name of the PostgreSQL programs that dump, restore or stream (their progname).
const PROGRAM: Record<string, string> = {
  pg_dump: 'a pg_dump session: terminating it fails the dump',
  pg_dumpall: 'a pg_dumpall session: terminating it fails the dump',
  pg_restore: 'a pg_restore session: terminating it leaves a half-restored database',
  pg_basebackup: 'a pg_basebackup session: terminating it fails the base backup',
  pg_receivewal: 'a pg_receivewal session: terminating it stops WAL streaming',
  pg_recvlogical: 'a pg_recvlogical session: terminating it stops logical decoding',
};

// Why a session must never be terminated, or undefined when the options decide.
export function protectedReason(s: { backendType: string; application: string }): string | undefined {
  if (s.backendType === 'walsender') return 'a replication connection (walsender): terminating it breaks a standby, a base backup or WAL streaming';
  if (s.backendType.startsWith('logical replication')) return `a ${s.backendType}: terminating it stops the subscription`;
  if (Object.hasOwn(OWN_SESSION, s.application)) return OWN_SESSION[s.application];
  if (s.application.startsWith('pgops ')) return `a session of ${s.application}: terminating it fails that task`;
  if (Object.hasOwn(PROGRAM, s.application)) return PROGRAM[s.application];
  return undefined;
}
