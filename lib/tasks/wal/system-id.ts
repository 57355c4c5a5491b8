import path from 'node:path';
import { messageOf, usageError } from '../../errors.ts';
import type { OptionsOf } from '../../options.ts';
import type { Repo } from '../../repo/repo.ts';
import { readControlSystemId } from '../../wal/control-file.ts';

// The options that name the database system: push and fetch accept both.
export type SystemIdOptions = Pick<OptionsOf<'wal-push' | 'wal-fetch'>, 'systemId' | 'pgdata'>;

// A system identifier is a 64-bit unsigned number written in decimal.
export function checkSystemId(text: string, origin = '--system-id'): string {
  if (!/^\d{1,20}$/.test(text) || BigInt(text) >= 1n << 64n || BigInt(text) === 0n) {
    throw usageError(`invalid ${origin} "${text}": expected the decimal database system identifier`, 'read it with pg_controldata (Database system identifier) or SELECT system_identifier FROM pg_control_system()');
  }
  return text;
}

// The data directory whose pg_control names the system: --pgdata (or PGDATA), else the current directory, which is
// the data directory when PostgreSQL runs archive_command and restore_command.
export function dataDirectory(o: SystemIdOptions): string {
  return path.resolve(o.pgdata ?? '.');
}

// The system identifier from --system-id, else from global/pg_control in the data directory.
export async function configuredSystemId(o: SystemIdOptions, what: string): Promise<string> {
  if (o.systemId !== undefined) return checkSystemId(o.systemId);
  const dir = dataDirectory(o);
  try {
    return await readControlSystemId(dir);
  } catch (err) {
    throw usageError(
      `cannot tell which database system ${what} belongs to: no --system-id, and ${path.join(dir, 'global/pg_control')} cannot be read (${messageOf(err)})`,
      'run from the data directory (PostgreSQL does for archive_command and restore_command), pass --pgdata DIR, or pass --system-id ID',
    );
  }
}

// For fetch: --system-id, else pg_control in the data directory, else the only system the repository holds WAL of.
export async function fetchSystemId(o: SystemIdOptions, repo: Repo): Promise<string> {
  try {
    return await configuredSystemId(o, 'this fetch');
  } catch (err) {
    if (o.systemId !== undefined) throw err;
    const systems = await walSystems(repo);
    if (systems.length === 1) return systems[0];
    if (systems.length === 0) {
      throw usageError(`the repository ${repo.url} holds no WAL (no wal/<system identifier>/ folder)`, 'check --repo: is it the repository archive_command pushes to?');
    }
    throw usageError(`the repository ${repo.url} holds WAL of ${systems.length} database systems (${systems.join(', ')}) and the data directory does not say which`, 'pass --system-id ID, or --pgdata DIR of the restored data directory');
  }
}

// The system identifiers with a WAL folder in the repository.
export async function walSystems(repo: Repo): Promise<string[]> {
  const ids = new Set<string>();
  for (const o of await repo.list('wal')) {
    const id = o.key.split('/')[1];
    if (id && /^\d+$/.test(id)) ids.add(id);
  }
  return [...ids].sort();
}
