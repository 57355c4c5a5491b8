import { usageError } from '../errors.ts';

// The database --db names, if any: a plain name, or the database of a postgresql:// URL.
export function databaseNameOf(db: unknown): string | undefined {
  if (db === undefined || db === '') return undefined;
  const text = String(db);
  if (!/^postgres(ql)?:\/\//.test(text)) return text;
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
