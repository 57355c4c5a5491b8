import { usageError } from '../errors.ts';
import { parseDbUrl } from './connection.ts';
import { isConnString } from './conninfo.ts';

// The database --db names, if any: a plain name, the database of a postgresql:// URL, or of a keyword/value string
// (dbname=, or its service's, or libpq's default from PGDATABASE and the user).
export function databaseNameOf(db: unknown, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (db === undefined || db === '') return undefined;
  const text = String(db);
  if (!isConnString(text)) return text;
  if (!/^postgres(ql)?:\/\//.test(text)) return parseDbUrl(text, env).database;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The URL may hold a password: never repeat it.
    throw usageError('the --db URL cannot be parsed', 'pass the bare database name to --db, or write postgresql://user@host/dbname');
  }
  const name = url.searchParams.get('dbname') ?? decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw usageError('the --db URL names no database', 'pass the bare database name to --db, or write postgresql://user@host/dbname');
  return name;
}
