import { listDatabases } from '../../backup-set.ts';
import { ExitCode, PgopsError, usageError } from '../../errors.ts';
import type { OptionValues } from '../../options.ts';
import { parseDbUrl } from '../../pg/connection.ts';
import type { Repo } from '../../repo/repo.ts';

// The backed-up database whose sets to use: --from-db, else the name in --db, else the only one in the repository.
export async function sourceDatabase(repo: Repo, o: OptionValues): Promise<string> {
  if (o.fromDb) return o.fromDb as string;
  if (o.db) return /^postgres(ql)?:\/\//.test(o.db as string) ? parseDbUrl(o.db as string, {}).database : (o.db as string);
  const dbs = await listDatabases(repo);
  if (dbs.length === 1) return dbs[0];
  if (dbs.length === 0) throw new PgopsError(`no backups in ${repo.url}`, { code: ExitCode.NOT_FOUND, hint: 'check --repo, or run pgops backup first' });
  throw usageError(`${repo.url} holds backups of ${dbs.length} databases (${dbs.join(', ')})`, 'name the one to use with --db NAME (or --from-db NAME)');
}
