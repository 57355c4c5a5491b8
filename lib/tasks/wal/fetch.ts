import path from 'node:path';
import { ExitCode, usageError, type PgopsError } from '../../errors.ts';
import { abortable } from '../../repo/abortable.ts';
import { writeDurably } from '../../repo/durable-write.ts';
import { walFolder } from '../../repo/layout.ts';
import { openRepo } from '../../repo/open.ts';
import type { TaskHandler } from '../../task.ts';
import { formatSize } from '../../units.ts';
import { parseWalFileName } from '../../wal/names.ts';
import { readArchived, readSidecar } from './archived.ts';
import { refuseGap } from './gap.ts';
import { inArchiveRecovery } from './recovery-mode.ts';
import { dataDirectory, fetchSystemId } from './system-id.ts';

// pgops wal fetch <name> <destination>: restore_command. Writes the destination only once the whole file arrived and
// matches the sha256 its sidecar lists; a file that is not archived exits NOT_FOUND (5), which ends recovery normally,
// unless it is a segment missing from the middle of the archive during an archive recovery (gap.ts): that fails.
export const walFetch: TaskHandler<'wal-fetch'> = async (ctx) => {
  const { options: o, log } = ctx;
  // Date.now(), not performance.now(): the performance global loads perf_hooks, a cost paid once per segment
  const started = Date.now();
  const { name, destination } = ctx.args;
  if (!name || !destination) throw usageError('wal fetch needs a file name and a destination', "write restore_command = 'pgops wal fetch %f %p ...'");
  if (!parseWalFileName(name)) throw usageError(`${name} is not a WAL file name`, 'wal fetch takes %f from restore_command: a segment, a .partial segment, a .history or a .backup file');
  // a reader reads pgops-repo.json first (is it encrypted?): a request that does not take the signal, so the
  // interrupt must not wait on it
  const opening = openRepo(o.repo, o, log, { reads: true });
  const repo = await abortable(opening, ctx.signal).catch((err: unknown) => {
    opening.then((r) => r.close(), () => {});
    throw err;
  });
  try {
    const systemId = await abortable(fetchSystemId(o, repo), ctx.signal);
    const sidecar = await abortable(readSidecar(repo, systemId, name), ctx.signal);
    if (!sidecar) {
      // a repository without a single file of this system is not the end of an archive but the wrong place: a typo in
      // --repo would otherwise end the recovery at its first file
      if (!(await abortable(repo.hasAny(walFolder(systemId)), ctx.signal))) throw noWalOf(systemId, repo.url);
      // a standby retries every few seconds and streams the rest: its misses keep the ordinary code, and no listing
      if (parseWalFileName(name)?.kind === 'segment' && inArchiveRecovery(dataDirectory(o))) await abortable(refuseGap(repo, systemId, name), ctx.signal);
      // recovery asks for files past the end of the archive and for history files that never existed: not an error
      const summary = `${name} is not in ${repo.url.replace(/\/$/, '')}/${walFolder(systemId)}/`;
      log.debug('not-found', summary, { name, exitCode: ExitCode.NOT_FOUND });
      return { exitCode: ExitCode.NOT_FOUND, summary, data: { ok: false, found: false, name, systemIdentifier: systemId } };
    }
    const where = { action: 'writing' as const, path: path.resolve(destination), disk: 'the disk of the destination' };
    // the destination is PostgreSQL's to replace (a RECOVERYXLOG of an earlier try), and PostgreSQL fsyncs the restored
    // files it keeps (durable_rename): an unsynced file lost in a crash is fetched again
    await writeDurably(where.path, (out) => readArchived(repo, systemId, sidecar, out, ctx.signal), { where, sync: false, mode: 0o600, signal: ctx.signal });
    const ms = Date.now() - started;
    const summary = `restored ${name} (${formatSize(sidecar.size)}, sha256 verified) to ${destination} in ${ms}ms`;
    log.debug('done', summary, { name, ms });
    return { exitCode: ExitCode.OK, summary, data: { ok: true, found: true, name, systemIdentifier: systemId, destination, size: sidecar.size, sha256: sidecar.sha256, ms } };
  } finally {
    await repo.close();
  }
};

// The repository has no WAL folder of the system at all.
function noWalOf(systemId: string, url: string): PgopsError {
  return usageError(
    `the repository ${url} holds no WAL of database system ${systemId} (nothing in ${url.replace(/\/$/, '')}/${walFolder(systemId)}/)`,
    'check --repo in restore_command: it must name the repository archive_command pushes to (pgops wal check --repo on the primary proves that one), and --system-id, if given',
  );
}
