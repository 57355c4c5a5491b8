import type pg from 'pg';
import { ExitCode, PgopsError } from '../../errors.ts';
import { settingBytes } from '../wal/check/server.ts';

// What a base backup needs of the server before anything is written, and the refusals (exit 3) when it lacks it.
//
// A base backup taken with -X none is worth something only with the WAL from its start to its stop in the archive,
// and every later segment for a point in time after it: so archiving into this very repository must work. On a
// primary pgops checks its own settings (wal_level, archive_mode, archive_command) and pg_stat_archiver. A standby
// archives only with archive_mode = always (then it is checked the same way); with on or off the primary must
// archive into the repository, which pgops cannot see from here: it checks that the repository holds WAL of this
// system, and later waits (bounded by --archive-timeout) for the stop segment to arrive there.

export interface PreflightFacts {
  inRecovery: boolean;
  walLevel: string;
  archiveMode: string;
  /** null: this role may not read it */
  archiveCommand: string | null;
  archiveLibrary: string | null;
  walSegmentSize: number;
  maxWalSenders: number;
  /** the role may open a replication connection (REPLICATION or superuser) */
  replication: boolean;
  role: string;
  archiver: { lastArchivedWal: string | null; lastArchivedTime: Date | null; lastFailedWal: string | null; lastFailedTime: Date | null; failedCount: number };
  /** tablespaces beyond pg_default and pg_global */
  tablespaces: { name: string; location: string }[];
  /** the repository holds WAL of this system (wal/<system identifier>/) */
  repoHasWal: boolean;
}

// Reads what the preflight checks from the server (the repository's side is added by the caller).
export async function readPreflightFacts(client: pg.Client): Promise<Omit<PreflightFacts, 'repoHasWal'>> {
  const settings = new Map<string, { setting: string; unit: string | null }>();
  const rows = await client.query<{ name: string; setting: string | null; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings WHERE name IN ('wal_level', 'archive_mode', 'archive_command', 'archive_library', 'wal_segment_size', 'max_wal_senders')`,
  );
  for (const r of rows.rows) settings.set(r.name, { setting: r.setting ?? '', unit: r.unit });
  const base = await client.query<{ r: boolean; role: string; repl: boolean }>(
    `SELECT pg_is_in_recovery() AS r, current_user AS role, (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS repl`,
  );
  const a = (await client.query(`SELECT last_archived_wal, last_archived_time, last_failed_wal, last_failed_time, failed_count FROM pg_stat_archiver`)).rows[0];
  const ts = await client.query<{ name: string; location: string }>(
    `SELECT spcname AS name, pg_tablespace_location(oid) AS location FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY spcname`,
  );
  const ws = settings.get('wal_segment_size');
  return {
    inRecovery: base.rows[0].r,
    role: base.rows[0].role,
    replication: base.rows[0].repl === true,
    walLevel: settings.get('wal_level')?.setting ?? 'replica',
    archiveMode: settings.get('archive_mode')?.setting ?? 'off',
    archiveCommand: settings.has('archive_command') ? settings.get('archive_command')!.setting : null,
    archiveLibrary: settings.get('archive_library')?.setting ?? null,
    walSegmentSize: ws ? settingBytes(ws.setting, ws.unit) : 16 * 1024 * 1024,
    maxWalSenders: Number(settings.get('max_wal_senders')?.setting ?? 10),
    archiver: {
      lastArchivedWal: a.last_archived_wal,
      lastArchivedTime: a.last_archived_time ? new Date(a.last_archived_time) : null,
      lastFailedWal: a.last_failed_wal,
      lastFailedTime: a.last_failed_time ? new Date(a.last_failed_time) : null,
      failedCount: Number(a.failed_count),
    },
    tablespaces: ts.rows,
  };
}

const refuse = (message: string, hint: string) => new PgopsError(message, { code: ExitCode.UNKNOWN, hint });

// True when this server archives WAL itself: a primary with archive_mode on or always, a standby with always.
export function archivesItself(f: Pick<PreflightFacts, 'inRecovery' | 'archiveMode'>): boolean {
  return f.inRecovery ? f.archiveMode === 'always' : f.archiveMode !== 'off';
}

// The first reason a base backup cannot be taken (exit 3, with what to do), or undefined when it can. repoUrl and
// systemId are for the messages.
export function preflightRefusal(f: PreflightFacts, where: { repoUrl: string; systemId: string }): PgopsError | undefined {
  if (f.tablespaces.length > 0) {
    const list = f.tablespaces.map((t) => `${t.name} (${t.location})`).join(', ');
    return refuse(
      `the cluster has ${f.tablespaces.length === 1 ? 'a tablespace' : 'tablespaces'} besides pg_default and pg_global: ${list}; pgops basebackup streams pg_basebackup's tar from stdout, which holds the main data directory only`,
      'pg_basebackup can write only one tablespace to stdout: back such a cluster up with pg_basebackup -Ft -D <folder> (one tar per tablespace) or pgBackRest, or move the tables back into pg_default (ALTER TABLE ... SET TABLESPACE pg_default)',
    );
  }
  if (f.walLevel === 'minimal') {
    return refuse('wal_level is minimal: WAL at that level cannot rebuild a base backup', "set wal_level = replica in postgresql.conf (ALTER SYSTEM SET wal_level = 'replica') and restart the server");
  }
  if (!f.replication) {
    return refuse(`role "${f.role}" may not take a base backup: it has neither REPLICATION nor superuser`, `ALTER ROLE "${f.role.replace(/"/g, '""')}" REPLICATION, and allow it a replication connection in pg_hba.conf (host replication ${f.role} <address> scram-sha-256)`);
  }
  if (f.maxWalSenders < 1) return refuse('max_wal_senders is 0: pg_basebackup needs a WAL sender', 'set max_wal_senders = 10 (the default) and restart the server');
  if (!f.inRecovery && f.archiveMode === 'off') {
    return refuse(
      'archive_mode is off: a base backup without archived WAL cannot be recovered, nor rolled forward to any point in time',
      `set archive_mode = on and archive_command = 'pgops wal push %p --repo ${where.repoUrl}' (ALTER SYSTEM), restart the server, then check with pgops wal check`,
    );
  }
  if (archivesItself(f)) {
    if (f.archiveCommand === '' && !f.archiveLibrary) {
      return refuse(`archive_mode is ${f.archiveMode} but archive_command is empty: nothing is archived`, `ALTER SYSTEM SET archive_command = 'pgops wal push %p --repo ${where.repoUrl}'; SELECT pg_reload_conf(); then check with pgops wal check`);
    }
    const a = f.archiver;
    if (a.lastFailedTime && (!a.lastArchivedTime || a.lastFailedTime > a.lastArchivedTime)) {
      return refuse(
        `archiving is failing: pg_stat_archiver's last attempt, for ${a.lastFailedWal} at ${a.lastFailedTime.toISOString()}, failed (${a.failedCount} failures${a.lastArchivedTime ? `; the last success was ${a.lastArchivedWal} at ${a.lastArchivedTime.toISOString()}` : ', no success yet'})`,
        'fix archive_command first: pgops wal check names the cause, and the server log has archive_command\'s message',
      );
    }
  }
  if (!f.repoHasWal) {
    const command = f.archiveLibrary ? `archive_library ${f.archiveLibrary}` : f.archiveCommand === null ? 'archive_command (not readable by this role)' : `archive_command ${JSON.stringify(f.archiveCommand)}`;
    return refuse(
      f.inRecovery && !archivesItself(f)
        ? `the repository ${where.repoUrl} holds no WAL of system ${where.systemId}: this standby does not archive (archive_mode ${f.archiveMode}), so the primary must archive into this repository, and it does not`
        : `archive_command does not archive into this repository: ${where.repoUrl} holds no WAL of system ${where.systemId} (${command})`,
      `archive with pgops wal push %p --repo ${where.repoUrl} (on the primary, or here with archive_mode = always), run SELECT pg_switch_wal() and check with pgops wal check`,
    );
  }
  return undefined;
}
