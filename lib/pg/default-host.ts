import fs from 'node:fs';
import path from 'node:path';

// Where psql looks for the server when no host is given: Debian's libpq's socket folder, then the one of upstream builds.
export const DEFAULT_SOCKET_DIRS: readonly string[] = ['/var/run/postgresql', '/tmp'];

// The socket folder to use when neither host nor hostaddr is given: the first that holds the server's socket for this
// port (.s.PGSQL.<port>), else the first, so that the error names the folder psql would have tried.
export function defaultSocketDir(port: number, dirs: readonly string[] = DEFAULT_SOCKET_DIRS, exists: (file: string) => boolean = fs.existsSync): string {
  return dirs.find((d) => exists(path.join(d, `.s.PGSQL.${port}`))) ?? dirs[0];
}
