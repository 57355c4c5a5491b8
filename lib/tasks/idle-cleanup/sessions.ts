import type pg from 'pg';
import { protectedReason } from './protected.ts';

// A client session as pg_stat_activity shows it.
export interface Session {
  pid: number;
  user: string | null;
  database: string | null;
  application: string;
  clientAddr: string | null;
  /** null when the role running pgops may not see it (no pg_read_all_stats) */
  state: string | null;
  /** exact text of state_change, to re-check that the session did not move on before terminating it */
  stateChange: string | null;
  idleMs: number;
  query: string;
  superuser: boolean;
  /** pg_stat_activity.backend_type: client backend, walsender, logical replication worker */
  backendType: string;
}

export interface Rules {
  idleMs?: number;
  idleInTransactionMs?: number;
  includeSuperusers: boolean;
  excludeUsers: string[];
  excludeApps: string[];
  excludeDbs: string[];
  max: number;
}

export interface Selection {
  /** what this run terminates, in order */
  targets: Session[];
  /** over a limit but left alone, with the rule that protects them; always: kept whatever the options (protected.ts) */
  spared: { session: Session; reason: string; always: boolean }[];
  /** over a limit but beyond --max: left for the next run */
  deferred: Session[];
}

// Every other client backend (never this one, autovacuum or other background workers), longest idle first; and the
// walsenders and logical replication workers, which are never terminated but are listed as kept when over a limit.
export async function clientSessions(client: pg.Client): Promise<Session[]> {
  const { rows } = await client.query<{ pid: number; usename: string | null; datname: string | null; app: string | null; addr: string | null; state: string | null; sc: string | null; ms: string | null; query: string | null; su: boolean | null; bt: string }>(
    `SELECT a.pid, a.usename::text, a.datname::text, a.application_name AS app, host(a.client_addr) AS addr, a.state,
            a.state_change::text AS sc, (extract(epoch FROM clock_timestamp() - a.state_change) * 1000)::bigint::text AS ms,
            left(a.query, 1000) AS query, r.rolsuper AS su, a.backend_type AS bt
       FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
      WHERE (a.backend_type IN ('client backend', 'walsender') OR a.backend_type LIKE 'logical replication%worker')
        AND a.pid <> pg_backend_pid()
      ORDER BY a.state_change NULLS LAST`,
  );
  return rows.map((r) => ({
    pid: r.pid,
    user: r.usename,
    database: r.datname,
    application: r.app ?? '',
    clientAddr: r.addr,
    state: r.state,
    stateChange: r.sc,
    idleMs: r.ms === null ? 0 : Number(r.ms),
    query: r.query ?? '',
    superuser: r.su === true,
    backendType: r.bt,
  }));
}

const inTransaction = (s: Session) => s.state === 'idle in transaction' || s.state === 'idle in transaction (aborted)';

// Picks what to terminate: sessions over their state's limit that no rule protects; idle in transaction first
// (they hold locks and hold back vacuum), then the longest idle; at most rules.max. Backups, restores and
// replication (protected.ts) are kept whatever the rules say.
export function selectTargets(sessions: Session[], rules: Rules): Selection {
  const over = sessions.filter((s) => {
    if (s.state === 'idle') return rules.idleMs !== undefined && s.idleMs > rules.idleMs;
    if (inTransaction(s)) return rules.idleInTransactionMs !== undefined && s.idleMs > rules.idleInTransactionMs;
    return false;
  });
  const spared: Selection['spared'] = [];
  const eligible: Session[] = [];
  for (const s of over) {
    const always = protectedReason(s);
    if (always) {
      spared.push({ session: s, reason: always, always: true });
      continue;
    }
    const reason =
      s.superuser && !rules.includeSuperusers ? 'superuser (--include-superusers to include)'
      : s.user !== null && rules.excludeUsers.includes(s.user) ? `user ${s.user} is excluded`
      : rules.excludeApps.includes(s.application) ? `application "${s.application}" is excluded`
      : s.database !== null && rules.excludeDbs.includes(s.database) ? `database ${s.database} is excluded`
      : undefined;
    if (reason) spared.push({ session: s, reason, always: false });
    else eligible.push(s);
  }
  eligible.sort((a, b) => Number(inTransaction(b)) - Number(inTransaction(a)) || b.idleMs - a.idleMs);
  return { targets: eligible.slice(0, rules.max), spared, deferred: eligible.slice(rules.max) };
}

// Terminates a session only if it is still in the state and at the state_change it was listed with (a session that
// ran a query since is not idle any more). PostgreSQL 14+ waits up to 5s for it to end.
export async function terminate(client: pg.Client, s: Session, major: number): Promise<'terminated' | 'moved-on' | 'not-confirmed'> {
  const call = major >= 14 ? 'pg_terminate_backend(pid, 5000)' : 'pg_terminate_backend(pid)';
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT ${call} AS ok FROM pg_stat_activity
      WHERE pid = $1 AND backend_type = 'client backend' AND state = $2 AND state_change = $3::timestamptz`,
    [s.pid, s.state, s.stateChange],
  );
  if (!rows.length) return 'moved-on';
  return rows[0].ok ? 'terminated' : 'not-confirmed';
}

// What the role running pgops can see and do.
export async function privileges(client: pg.Client): Promise<{ superuser: boolean; readAllStats: boolean; signalBackend: boolean }> {
  const { rows } = await client.query<{ su: boolean; stats: boolean; signal: boolean }>(
    `SELECT r.rolsuper AS su, pg_has_role('pg_read_all_stats', 'USAGE') AS stats, pg_has_role('pg_signal_backend', 'USAGE') AS signal
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  return { superuser: rows[0].su, readAllStats: rows[0].su || rows[0].stats, signalBackend: rows[0].su || rows[0].signal };
}
