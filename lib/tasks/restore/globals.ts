import fs from 'node:fs/promises';
import type { PgBinary } from '../../pg/binaries.ts';
import { execPgTool } from '../../pg/exec-tool.ts';

// Statements of globals.sql that would change the role the restore connects as (never lock ourselves out).
export function withoutOwnRole(sql: string, currentUser: string): string {
  const quoted = /^[a-z_][a-z0-9_$]*$/.test(currentUser) ? currentUser : `"${currentUser.replace(/"/g, '""')}"`;
  const own = new RegExp(`^(CREATE|ALTER) ROLE ${quoted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |;)`);
  return sql
    .split('\n')
    .filter((line) => !own.test(line))
    .join('\n');
}

// The errors psql reported, less those that only say a role or tablespace exists already.
export function globalsProblems(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => /\bERROR:/.test(l))
    .filter((l) => !/(role|tablespace) ".*" already exists/.test(l))
    .map((l) => l.replace(/^psql:[^:]*:\d+:\s*/, '').trim());
}

// Applies globals.sql with psql; roles that exist are kept. Returns the problems to report (the restore goes on).
export async function applyGlobals(req: { psql: PgBinary; file: string; connString: string; env: NodeJS.ProcessEnv; currentUser: string; signal: AbortSignal }): Promise<string[]> {
  const sql = withoutOwnRole(await fs.readFile(req.file, 'utf8'), req.currentUser);
  const stderr = await execPgTool({
    file: req.psql.path,
    args: ['-X', '-q', '--no-password', '-v', 'ON_ERROR_STOP=0', `--dbname=${req.connString}`],
    env: req.env,
    input: sql,
    signal: req.signal,
    what: 'psql (globals)',
  });
  return globalsProblems(stderr);
}
