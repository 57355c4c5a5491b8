import type pg from 'pg';
import { messageOf } from '../../errors.ts';
import type { OptionsOf } from '../../options.ts';
import { qualified } from '../../pg/ident.ts';
import type { ServerFacts } from '../../pg/server.ts';

// A session in a list (longest transactions, idle in transaction, blocked, blocking).
export interface SessionRow {
  pid: number;
  user: string | null;
  database: string | null;
  application: string;
  state: string | null;
  /** transaction age, idle time or lock wait, depending on the list */
  ms: number;
  query: string;
  blockedBy?: number[];
}

// What the monitoring queries read; a section that could not be read holds its error in `errors`.
export interface HealthFacts {
  database: string;
  version: string;
  inRecovery: boolean;
  statsReset: string | null;
  connections?: { max: number; byState: Record<string, number>; total: number };
  cache?: { hit: number; read: number };
  transactions?: SessionRow[];
  idleInTransaction?: SessionRow[];
  locks?: { blocked: SessionRow[]; blocking: SessionRow[] };
  statements?: { available: boolean; note?: string; rows: { database: string | null; calls: number; meanMs: number; totalMs: number; rows: number; query: string }[] };
  unusedIndexes?: { schema: string; table: string; index: string; size: number; definition: string }[];
  databases?: { name: string; size: number }[];
  tables?: { schema: string; name: string; size: number }[];
  deadTuples?: { schema: string; name: string; live: number; dead: number; lastAutovacuum: string | null }[];
  wraparound?: { database: string; xidAge: number; mxidAge: number }[];
  errors: Record<string, string>;
}

type Row = Record<string, unknown>;
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

function sessionRows(rows: Row[]): SessionRow[] {
  return rows.map((r) => ({
    pid: Number(r.pid),
    user: (r.usename as string | null) ?? null,
    database: (r.datname as string | null) ?? null,
    application: (r.app as string | null) ?? '',
    state: (r.state as string | null) ?? null,
    ms: num(r.ms),
    query: (r.query as string | null) ?? '',
    blockedBy: r.blocked_by as number[] | undefined,
  }));
}

// Reading a relation's size opens it, which waits behind an ACCESS EXCLUSIVE lock (held or asked for): such
// relations are left out rather than making the check wait for lock_timeout.
const LOCKED = `SELECT 1 FROM pg_locks l WHERE l.relation = $REL AND l.mode = 'AccessExclusiveLock' AND l.pid <> pg_backend_pid()`;

const SESSION_COLUMNS = `a.pid, a.usename::text AS usename, a.datname::text AS datname, a.application_name AS app, a.state, left(a.query, 500) AS query`;

// How many rows each list holds and which tables and indexes are worth listing.
export type HealthLimits = Pick<OptionsOf<'health'>, 'top' | 'unusedIndexMinSize' | 'deadTuplesMin'>;

// What every section reads with: the session's queries, the server's facts and the limits.
interface Reader {
  q: (sql: string, params?: unknown[]) => Promise<Row[]>;
  server: ServerFacts;
  limits: HealthLimits;
}

// When the statistics were last reset (null: never since the server started).
async function readStatsReset({ q }: Reader): Promise<Pick<HealthFacts, 'statsReset'>> {
  return { statsReset: ((await q(`SELECT stats_reset::text AS r FROM pg_stat_database WHERE datname = current_database()`))[0]?.r as string | null) ?? null };
}

// Client sessions by state, and max_connections.
async function readConnections({ q }: Reader): Promise<Pick<HealthFacts, 'connections'>> {
  const rows = await q(`SELECT coalesce(state, 'unknown') AS state, count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1`);
  const max = Number((await q(`SELECT current_setting('max_connections') AS m`))[0].m);
  const byState = Object.fromEntries(rows.map((r) => [String(r.state), Number(r.n)]));
  return { connections: { max, byState, total: rows.reduce((n, r) => n + Number(r.n), 0) } };
}

// Blocks found in shared buffers and blocks read, in this database.
async function readCache({ q }: Reader): Promise<Pick<HealthFacts, 'cache'>> {
  const r = (await q(`SELECT blks_hit::text AS hit, blks_read::text AS read FROM pg_stat_database WHERE datname = current_database()`))[0];
  return { cache: { hit: num(r?.hit), read: num(r?.read) } };
}

// The oldest open transactions, oldest first.
async function readTransactions({ q, limits }: Reader): Promise<Pick<HealthFacts, 'transactions'>> {
  const rows = await q(
    `SELECT ${SESSION_COLUMNS}, (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::bigint::text AS ms
       FROM pg_stat_activity a WHERE a.backend_type = 'client backend' AND a.xact_start IS NOT NULL AND a.pid <> pg_backend_pid()
      ORDER BY a.xact_start LIMIT $1`,
    [limits.top],
  );
  return { transactions: sessionRows(rows) };
}

// The sessions idle in a transaction the longest, longest first.
async function readIdleInTransaction({ q, limits }: Reader): Promise<Pick<HealthFacts, 'idleInTransaction'>> {
  const rows = await q(
    `SELECT ${SESSION_COLUMNS}, (extract(epoch FROM clock_timestamp() - a.state_change) * 1000)::bigint::text AS ms
       FROM pg_stat_activity a WHERE a.backend_type = 'client backend' AND a.state LIKE 'idle in transaction%'
      ORDER BY a.state_change LIMIT $1`,
    [limits.top],
  );
  return { idleInTransaction: sessionRows(rows) };
}

// The sessions waiting for a lock (longest wait first) and the sessions they wait for.
async function readLocks({ q, server }: Reader): Promise<Pick<HealthFacts, 'locks'>> {
  // pg_locks.waitstart (PostgreSQL 14+) says when the wait began; before that, the query start is the best guess
  const since = server.major >= 14 ? 'coalesce(w.waitstart, a.query_start)' : 'a.query_start';
  const waitstart = server.major >= 14 ? `LEFT JOIN LATERAL (SELECT min(l.waitstart) AS waitstart FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted) w ON true` : '';
  const blocked = sessionRows(
    await q(
      `SELECT ${SESSION_COLUMNS}, pg_blocking_pids(a.pid) AS blocked_by, (extract(epoch FROM clock_timestamp() - ${since}) * 1000)::bigint::text AS ms
         FROM pg_stat_activity a ${waitstart}
        WHERE cardinality(pg_blocking_pids(a.pid)) > 0 ORDER BY ${since} NULLS LAST`,
    ),
  );
  const blockerPids = [...new Set(blocked.flatMap((b) => b.blockedBy ?? []))];
  if (!blockerPids.length) return { locks: { blocked, blocking: [] } };
  const blocking = sessionRows(
    await q(
      `SELECT ${SESSION_COLUMNS}, (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::bigint::text AS ms
         FROM pg_stat_activity a WHERE a.pid = ANY($1::int[]) ORDER BY a.xact_start NULLS LAST`,
      [blockerPids],
    ),
  );
  return { locks: { blocked, blocking } };
}

// The statements with the highest mean time, from pg_stat_statements when it is installed and loaded.
async function readStatements({ q, server, limits }: Reader): Promise<Pick<HealthFacts, 'statements'>> {
  const ext = (await q(`SELECT n.nspname::text AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`))[0];
  if (!ext) return { statements: { available: false, note: 'pg_stat_statements is not installed in this database', rows: [] } };
  const [mean, total] = server.major >= 13 ? ['mean_exec_time', 'total_exec_time'] : ['mean_time', 'total_time'];
  try {
    const rows = await q(
      `SELECT d.datname::text AS database, s.calls::text AS calls, s.${mean} AS mean, s.${total} AS total, s.rows::text AS rows, left(s.query, 500) AS query
         FROM ${qualified(String(ext.schema), 'pg_stat_statements')} s LEFT JOIN pg_database d ON d.oid = s.dbid
        ORDER BY s.${mean} DESC LIMIT $1`,
      [limits.top],
    );
    return { statements: { available: true, rows: rows.map((r) => ({ database: (r.database as string | null) ?? null, calls: num(r.calls), meanMs: num(r.mean), totalMs: num(r.total), rows: num(r.rows), query: String(r.query ?? '') })) } };
  } catch (err) {
    // installed but not in shared_preload_libraries: nothing to read, which is not a health problem
    return { statements: { available: false, note: `pg_stat_statements cannot be read: ${messageOf(err)}`, rows: [] } };
  }
}

// Indexes never scanned, biggest first, leaving out those that enforce a constraint.
async function readUnusedIndexes({ q, limits }: Reader): Promise<Pick<HealthFacts, 'unusedIndexes'>> {
  const rows = await q(
    `SELECT s.schemaname::text AS schema, s.relname::text AS table, s.indexrelname::text AS index, pg_relation_size(s.indexrelid)::text AS size,
            pg_get_indexdef(s.indexrelid) AS definition
       FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
      WHERE s.idx_scan = 0 AND i.indisvalid AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
        AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = s.indexrelid)
        AND NOT EXISTS (${LOCKED.replace('$REL', 's.indexrelid')}) AND NOT EXISTS (${LOCKED.replace('$REL', 's.relid')})
        AND pg_relation_size(s.indexrelid) >= $1
      ORDER BY pg_relation_size(s.indexrelid) DESC, 1, 2, 3 LIMIT $2`,
    [limits.unusedIndexMinSize, limits.top],
  );
  return { unusedIndexes: rows.map((r) => ({ schema: String(r.schema), table: String(r.table), index: String(r.index), size: num(r.size), definition: String(r.definition) })) };
}

// The databases this role may connect to, and the largest tables of this one, biggest first.
async function readSizes({ q, limits }: Reader): Promise<Pick<HealthFacts, 'databases' | 'tables'>> {
  const databases = await q(`SELECT datname::text AS name, pg_database_size(oid)::text AS size FROM pg_database WHERE datallowconn AND has_database_privilege(oid, 'CONNECT') ORDER BY pg_database_size(oid) DESC`);
  const tables = await q(
    `SELECT n.nspname::text AS schema, c.relname::text AS name, pg_total_relation_size(c.oid)::text AS size
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
        AND NOT EXISTS (${LOCKED.replace('$REL', 'c.oid')})
      ORDER BY pg_total_relation_size(c.oid) DESC LIMIT $1`,
    [limits.top],
  );
  return {
    databases: databases.map((r) => ({ name: String(r.name), size: num(r.size) })),
    tables: tables.map((r) => ({ schema: String(r.schema), name: String(r.name), size: num(r.size) })),
  };
}

// The tables with the highest share of dead rows, among those with enough dead rows to matter.
async function readDeadTuples({ q, limits }: Reader): Promise<Pick<HealthFacts, 'deadTuples'>> {
  const rows = await q(
    `SELECT schemaname::text AS schema, relname::text AS name, n_live_tup::text AS live, n_dead_tup::text AS dead, last_autovacuum::text AS av
       FROM pg_stat_user_tables WHERE n_dead_tup >= $1
      ORDER BY n_dead_tup::float8 / greatest(n_live_tup + n_dead_tup, 1) DESC, n_dead_tup DESC LIMIT $2`,
    [limits.deadTuplesMin, limits.top],
  );
  return { deadTuples: rows.map((r) => ({ schema: String(r.schema), name: String(r.name), live: num(r.live), dead: num(r.dead), lastAutovacuum: (r.av as string | null) ?? null })) };
}

// The transaction ID and multixact ages of every database, oldest first.
async function readWraparound({ q }: Reader): Promise<Pick<HealthFacts, 'wraparound'>> {
  const rows = await q(`SELECT datname::text AS database, age(datfrozenxid)::text AS xid, mxid_age(datminmxid)::text AS mxid FROM pg_database ORDER BY greatest(age(datfrozenxid), mxid_age(datminmxid)) DESC`);
  return { wraparound: rows.map((r) => ({ database: String(r.database), xidAge: num(r.xid), mxidAge: num(r.mxid) })) };
}

// The sections in the order they are read; the name is the key of a section's error in HealthFacts.errors.
const SECTIONS: [string, (r: Reader) => Promise<Partial<HealthFacts>>][] = [
  ['stats', readStatsReset],
  ['connections', readConnections],
  ['cache', readCache],
  ['transactions', readTransactions],
  ['idleInTransaction', readIdleInTransaction],
  ['locks', readLocks],
  ['statements', readStatements],
  ['unusedIndexes', readUnusedIndexes],
  ['sizes', readSizes],
  ['deadTuples', readDeadTuples],
  ['wraparound', readWraparound],
];

// Runs every monitoring query; one that fails (a missing privilege, a timeout) is recorded and the others go on.
export async function readHealthFacts(client: pg.Client, server: ServerFacts, limits: HealthLimits): Promise<HealthFacts> {
  const f: HealthFacts = { database: server.database, version: server.version, inRecovery: server.inRecovery, statsReset: null, errors: {} };
  const reader: Reader = { q: async (sql, params = []) => (await client.query(sql, params)).rows as Row[], server, limits };
  for (const [name, read] of SECTIONS) {
    try {
      Object.assign(f, await read(reader));
    } catch (err) {
      f.errors[name] = messageOf(err);
    }
  }
  return f;
}
