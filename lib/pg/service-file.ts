import fs from 'node:fs';
import path from 'node:path';
import { usageError } from '../errors.ts';
import { LIBPQ_KEYWORDS } from './libpq-keywords.ts';

// Debian's libpq is built with this sysconfdir; PGSYSCONFDIR replaces it.
export const DEFAULT_SYSCONFDIR = '/etc/postgresql-common';

// The service files libpq reads, in its order: the user's (PGSERVICEFILE, else ~/.pg_service.conf), then the system's.
export function serviceFiles(env: NodeJS.ProcessEnv, home: string): string[] {
  return [env.PGSERVICEFILE || path.join(home, '.pg_service.conf'), path.join(env.PGSYSCONFDIR || DEFAULT_SYSCONFDIR, 'pg_service.conf')];
}

// The keywords of service `name` from the first file that defines it (libpq stops at the first), or a usage error naming
// the files read.
export function readService(name: string, files: string[]): { keywords: Record<string, string>; file: string } {
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      throw usageError(`cannot read the service file ${file}: ${(err as Error).message}`, 'make it readable by the user pgops runs as, or set PGSERVICEFILE to another file');
    }
    const keywords = serviceSection(text, name, file);
    if (keywords) return { keywords, file };
  }
  throw usageError(`service "${name}" is not defined in ${files.map((f) => `${f}${fs.existsSync(f) ? '' : ' (absent)'}`).join(' or ')}`,
    `add a [${name}] section with keyword=value lines (host=..., dbname=..., user=...) to one of them, or point PGSERVICEFILE at the file that has it`);
}

// The keyword=value lines of [name] in a service file's text, or undefined when it has no such section. Lines are trimmed;
// # starts a comment line; a later duplicate does not override (libpq keeps the first).
export function serviceSection(text: string, name: string, file: string): Record<string, string> | undefined {
  let inSection = false;
  let found: Record<string, string> | undefined;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      // libpq reads only the first section of a name
      if (found) return found;
      inSection = line === `[${name}]`;
      if (inSection) found = {};
      continue;
    }
    if (!inSection || !found) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? '' : line.slice(0, eq).trim();
    const where = `${file} line ${n + 1}`;
    if (eq < 0) throw usageError(`syntax error in the service file ${where}: no "=" in a line of [${name}]`, 'write keyword=value lines, such as host=db1.example');
    if (key === 'service') throw usageError(`the service file ${where} names another service: libpq does not nest services`, `write the keywords of that service into [${name}] itself`);
    if (!Object.hasOwn(LIBPQ_KEYWORDS, key)) throw usageError(`syntax error in the service file ${where}: "${key}" is no connection option`, 'libpq\'s keywords are listed at https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS');
    if (!(key in found)) found[key] = line.slice(eq + 1).trim();
  }
  return found;
}
