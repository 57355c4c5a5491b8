import { databaseNameOf, listDatabases } from '../../backup-set.ts';
import { ExitCode, PgopsError, usageError } from '../../errors.ts';
import type { OptionValues } from '../../options.ts';
import type { Repo } from '../../repo/repo.ts';

// The backed-up database whose sets to use: --from-db, else the name in --db, else the only one in the repository.
export async function sourceDatabase(repo: Repo, o: OptionValues): Promise<string> {
  if (o.fromDb) return o.fromDb as string;
  const named = databaseNameOf(o.db);
  if (named) return named;
  const dbs = await listDatabases(repo);
  if (dbs.length === 1) return dbs[0];
  if (dbs.length === 0) throw new PgopsError(`no backups in ${repo.url}`, { code: ExitCode.NOT_FOUND, hint: 'check --repo, or run pgops backup first' });
  throw usageError(`${repo.url} holds backups of ${dbs.length} databases (${dbs.join(', ')})`, 'name the one to use with --db NAME (or --from-db NAME)');
}
