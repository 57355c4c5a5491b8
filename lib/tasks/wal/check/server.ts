import type pg from 'pg';
import { messageOf } from '../../../errors.ts';

// What wal check reads from the server. Fields a role may not read are null, and `skipped` says why.
export interface ServerWalFacts {
  versionNum: number;
  inRecovery: boolean;
  user: string;
  /** the server's clock: ages are measured against it, not against the monitor host's */
  now: Date;
  systemIdentifier: string | null;
  walLevel: string;
  archiveMode: string;
  /** null: not readable by this role */
  archiveCommand: string | null;
  /** undefined before PostgreSQL 15, which has no archive_library */
  archiveLibrary?: string | null;
  walSegmentSize: number;
  maxWalSize: number;
  walKeepSize: number;
  archiver: ArchiverStats;
  timeline: number;
  /** the segment being written now (primary only) */
  currentWalFile: string | null;
  /** names of the WAL files waiting to be archived (.ready), oldest first; null when not readable */
  ready: string[] | null;
  /** bytes in pg_wal; null when not readable */
  pgWalBytes: number | null;
  skipped: string[];
}

// pg_stat_archiver's row.
export interface ArchiverStats {
  archivedCount: number;
  lastArchivedWal: string | null;
  lastArchivedTime: Date | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedTime: Date | null;
  statsReset: Date | null;
}

const PRIVILEGE = '42501';
const UNDEFINED_FUNCTION = '42883';

// Runs a query that needs a privilege the role may lack; undefined (and a note in skipped) when it is missing.
async function optional<T>(skipped: string[], what: string, needs: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === PRIVILEGE) {
      skipped.push(`${what}: ${needs}`);
      return undefined;
    }
    if (code === UNDEFINED_FUNCTION) {
      skipped.push(`${what}: not available on this server version (${messageOf(err)})`);
      return undefined;
    }
    throw err;
  }
}

// The bytes a pg_settings value stands for, from its unit ('B', 'kB', 'MB', '8kB', '16MB').
export function settingBytes(setting: string, unit: string | null): number {
  const m = /^(\d*)\s*(B|kB|MB|GB|TB)?$/.exec(unit ?? 'B');
  const scale = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[(m?.[2] ?? 'B') as 'B'];
  return Number(setting) * Number(m?.[1] || 1) * scale;
}

const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

// Reads settings, pg_stat_archiver, the current timeline and segment, the .ready backlog and pg_wal's size.
export async function readServerFacts(client: pg.Client): Promise<ServerWalFacts> {
  const skipped: string[] = [];
  const base = await client.query<{ v: string; r: boolean; u: string; now: Date }>(
    `SELECT current_setting('server_version_num') AS v, pg_is_in_recovery() AS r, current_user AS u, now() AS now`,
  );
  const { v, r, u, now } = base.rows[0];
  const settings = new Map<string, { setting: string; unit: string | null }>();
  const rows = await client.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings
      WHERE name IN ('wal_level', 'archive_mode', 'archive_command', 'archive_library', 'wal_segment_size', 'max_wal_size', 'wal_keep_size')`,
  );
  for (const row of rows.rows) settings.set(row.name, row);
  const get = (name: string) => settings.get(name)?.setting;
  const bytes = (name: string) => (settings.has(name) ? settingBytes(settings.get(name)!.setting, settings.get(name)!.unit) : 0);

  const a = (await client.query(`SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time, stats_reset FROM pg_stat_archiver`)).rows[0];
  const archiver: ArchiverStats = {
    archivedCount: Number(a.archived_count),
    lastArchivedWal: a.last_archived_wal,
    lastArchivedTime: date(a.last_archived_time),
    failedCount: Number(a.failed_count),
    lastFailedWal: a.last_failed_wal,
    lastFailedTime: date(a.last_failed_time),
    statsReset: date(a.stats_reset),
  };

  const systemIdentifier =
    (await optional(skipped, 'system identifier', 'pg_control_system() is not granted (pass --system-id)', async () =>
      (await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()')).rows[0].id,
    )) ?? null;

  let timeline = 0;
  let currentWalFile: string | null = null;
  if (!r) {
    currentWalFile = (await client.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0].f;
    timeline = parseInt(currentWalFile.slice(0, 8), 16);
  } else {
    timeline =
      (await optional(skipped, 'timeline', 'pg_control_checkpoint() is not granted', async () =>
        Number((await client.query<{ t: number }>('SELECT timeline_id AS t FROM pg_control_checkpoint()')).rows[0].t),
      )) ?? 0;
  }

  const ready =
    (await optional(skipped, 'WAL files waiting to be archived (.ready)', 'pg_ls_archive_statusdir() needs pg_monitor', async () =>
      (await client.query<{ name: string }>(`SELECT name FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready' ORDER BY name`)).rows.map((x) => x.name.slice(0, -'.ready'.length)),
    )) ?? null;
  const pgWalBytes =
    (await optional(skipped, 'pg_wal size', 'pg_ls_waldir() needs pg_monitor', async () =>
      Number((await client.query<{ b: string }>('SELECT coalesce(sum(size), 0)::bigint AS b FROM pg_ls_waldir()')).rows[0].b),
    )) ?? null;

  const versionNum = Number(v);
  return {
    versionNum,
    inRecovery: r,
    user: u,
    now: new Date(now),
    systemIdentifier,
    walLevel: get('wal_level') ?? 'unknown',
    archiveMode: get('archive_mode') ?? 'unknown',
    archiveCommand: settings.has('archive_command') ? (get('archive_command') ?? '') : null,
    archiveLibrary: versionNum >= 150000 ? (settings.has('archive_library') ? (get('archive_library') ?? '') : null) : undefined,
    walSegmentSize: bytes('wal_segment_size'),
    maxWalSize: bytes('max_wal_size'),
    walKeepSize: bytes('wal_keep_size'),
    archiver,
    timeline,
    currentWalFile,
    ready,
    pgWalBytes,
    skipped,
  };
}
