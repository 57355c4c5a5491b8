import { ExitCode, PgopsError, usageError } from '../../errors.ts';
import type { OptionsOf } from '../../options.ts';
import { databaseNameOf } from '../../pg/database-name.ts';
import type { Manifest } from '../../repo/manifest.ts';
import type { Repo } from '../../repo/repo.ts';
import { findSet, listDatabases, type BackupSet } from '../../repo/sets.ts';

type SourceOptions = Pick<OptionsOf<'restore' | 'drill'>, 'fromDb' | 'db' | 'backup'>;

// The backed-up database whose sets to use: --from-db, else the name in --db, else the only one in the repository.
export async function sourceDatabase(repo: Repo, o: Pick<SourceOptions, 'fromDb' | 'db'>): Promise<string> {
  if (o.fromDb) return o.fromDb;
  const named = databaseNameOf(o.db);
  if (named) return named;
  const dbs = await listDatabases(repo);
  if (dbs.length === 1) return dbs[0];
  if (dbs.length === 0) throw new PgopsError(`no backups in ${repo.url}`, { code: ExitCode.NOT_FOUND, hint: 'check --repo, or run pgops backup first' });
  throw usageError(`${repo.url} holds backups of ${dbs.length} databases (${dbs.join(', ')})`, 'name the one to use with --db NAME (or --from-db NAME)');
}

// The set a restore or a drill reads: --backup (an id, latest or verified) of the source database.
export async function chooseSet(repo: Repo, o: SourceOptions): Promise<BackupSet & { manifest: Manifest }> {
  return findSet(repo, await sourceDatabase(repo, o), o.backup);
}
