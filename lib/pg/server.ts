import type pg from 'pg';

// What pgops records about the server it talks to.
export interface ServerFacts {
  version: string;
  versionNum: number;
  major: number;
  /** null when the role may not read pg_control_system() */
  systemIdentifier: string | null;
  inRecovery: boolean;
  database: string;
  user: string;
}

// Reads version, system identifier, recovery state, database and user of a connection.
export async function serverFacts(client: pg.Client): Promise<ServerFacts> {
  const { rows } = await client.query<{ v: string; n: string; r: boolean; d: string; u: string }>(
    `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n,
            pg_is_in_recovery() AS r, current_database() AS d, current_user AS u`,
  );
  let systemIdentifier: string | null = null;
  try {
    const sys = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    systemIdentifier = sys.rows[0].id;
  } catch {
    systemIdentifier = null;
  }
  const versionNum = Number(rows[0].n);
  return {
    version: rows[0].v.split(' ')[0],
    versionNum,
    major: Math.floor(versionNum / 10000),
    systemIdentifier,
    inRecovery: rows[0].r,
    database: rows[0].d,
    user: rows[0].u,
  };
}
