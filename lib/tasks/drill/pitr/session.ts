import pg from 'pg';
import { ExitCode, PgopsError, messageOf } from '../../../errors.ts';

// Sessions on the throwaway server, over its socket, as its bootstrap superuser. The recovered cluster has the
// roles of the backed-up one, not ours: the drill tries the likely names (the --db URL's user, --os-user, postgres,
// root) with the drill's own hba (trust over the socket), then reads which role is the bootstrap superuser
// (pg_roles oid 10) and works as that one, so that every table can be read whatever its privileges.

export interface DrillServer {
  socketDir: string;
  port: number;
  /** the bootstrap superuser, once found, and the database it logged in to */
  superuser?: string;
  maintenanceDb?: string;
}

async function open(s: DrillServer, user: string, database: string): Promise<pg.Client> {
  const client = new pg.Client({ host: s.socketDir, port: s.port, user, database, application_name: 'pgops drill --pitr', connectionTimeoutMillis: 15_000 });
  client.on('error', () => {}); // a dropped connection surfaces on the next query
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  return client;
}

// Finds the bootstrap superuser (oid 10) by logging in as each candidate in turn; exit 3 when none exists.
export async function findSuperuser(s: DrillServer, candidates: readonly string[]): Promise<string> {
  const tried: string[] = [];
  for (const user of [...new Set(candidates.filter(Boolean))]) {
    for (const database of ['postgres', 'template1']) {
      let client: pg.Client | undefined;
      try {
        client = await open(s, user, database);
        const { rows } = await client.query<{ name: string }>('SELECT rolname AS name FROM pg_catalog.pg_roles WHERE oid = 10');
        s.superuser = rows[0].name;
        s.maintenanceDb = database;
        return s.superuser;
      } catch (err) {
        tried.push(`${user}@${database}: ${messageOf(err)}`);
        // the role does not exist: another database will not help
        if (/role .* does not exist/.test(messageOf(err))) break;
      } finally {
        await client?.end().catch(() => {});
      }
    }
  }
  throw new PgopsError(`cannot log in to the recovered server (socket ${s.socketDir}, port ${s.port}) as any of ${[...new Set(candidates)].join(', ')}: ${tried.join('; ')}`, {
    code: ExitCode.UNKNOWN,
    hint: "pass --db postgresql://<a superuser of the backed-up cluster>@/<database> so that the drill logs in as that role",
  });
}

// A session on one database as the superuser, with the drill's statement timeout.
export async function superuserSession(s: DrillServer, database: string, statementTimeoutMs: number): Promise<pg.Client> {
  if (!s.superuser) throw new Error('findSuperuser first');
  const client = await open(s, s.superuser, database);
  await client.query(`SET statement_timeout = ${Math.round(statementTimeoutMs)}`);
  return client;
}

// The databases that accept connections (template0 does not), by name.
export async function databases(s: DrillServer, statementTimeoutMs: number): Promise<string[]> {
  const client = await superuserSession(s, s.maintenanceDb ?? 'postgres', statementTimeoutMs);
  try {
    const { rows } = await client.query<{ name: string }>('SELECT datname AS name FROM pg_catalog.pg_database WHERE datallowconn ORDER BY 1');
    return rows.map((r) => r.name);
  } finally {
    await client.end().catch(() => {});
  }
}
