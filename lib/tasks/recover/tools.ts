import fs from 'node:fs';
import path from 'node:path';
import { usageError } from '../../errors.ts';
import { findPgTool, type PgTool } from '../../pg/binaries.ts';

// The server programs of a recovery come from one folder, of the backup's major version: a data directory starts
// only under the postgres of its own major version (pg_ctl, pg_controldata), and pg_verifybackup reads its manifest.

// The major version of a server version number (150008 -> 15).
export function majorOf(versionNum: number): number {
  return Math.floor(versionNum / 10000);
}

// The folder of the server programs of a major version: --pg-bin, else Debian's /usr/lib/postgresql/<major>/bin,
// else wherever a pg_ctl of that major version is found; exit 3 when there is none.
export async function serverBinDir(major: number, pgBin?: string): Promise<string> {
  const debian = `/usr/lib/postgresql/${major}/bin`;
  const dir = pgBin ?? (fs.existsSync(path.join(debian, 'pg_ctl')) ? debian : undefined);
  let found;
  try {
    found = await findPgTool('pg_ctl', { pgBin: dir, minMajor: major });
  } catch {
    found = undefined;
  }
  if (!found || found.major !== major || !fs.existsSync(path.join(path.dirname(found.path), 'postgres'))) {
    throw usageError(
      `no PostgreSQL ${major} server found${pgBin ? ` in ${pgBin}` : ''}${found ? ` (${found.path} is PostgreSQL ${found.version})` : ''}: the base backup is of PostgreSQL ${major}, and only that major version starts it`,
      `install the server of that version (Debian/Ubuntu: apt-get install postgresql-${major}) or pass --pg-bin /usr/lib/postgresql/${major}/bin`,
    );
  }
  return path.dirname(found.path);
}

// A program of that folder.
export function toolIn(dir: string, tool: PgTool | 'postgres'): string {
  return path.join(dir, tool);
}
