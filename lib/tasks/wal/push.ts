import fs from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, PgopsError, messageOf, usageError } from '../../errors.ts';
import { abortable } from '../../repo/abortable.ts';
import { walFolder } from '../../repo/layout.ts';
import { openRepo } from '../../repo/open.ts';
import type { TaskHandler } from '../../task.ts';
import { formatSize } from '../../units.ts';
import { headerMismatch, LONG_HEADER_SIZE, parseSegmentHeader } from '../../wal/header.ts';
import { parseWalFileName, type WalFileName } from '../../wal/names.ts';
import { readSidecar } from './archived.ts';
import { pushAgain, pushNew, type PushRequest } from './publish.ts';
import { checkSystemId, configuredSystemId, type SystemIdOptions } from './system-id.ts';

// pgops wal push <path>: archive_command. Archives one WAL file into wal/<system identifier>/ of the repository, data
// first and sidecar last, never overwriting either (lib/tasks/wal/publish.ts); the same file again is success, a
// different file under an archived name is refused.
export const walPush: TaskHandler<'wal-push'> = async (ctx) => {
  const { options: o, log } = ctx;
  // Date.now(), not performance.now(): the performance global loads perf_hooks, a cost paid once per segment
  const started = Date.now();
  const file = ctx.args.path;
  if (!file) throw usageError('no file given', 'write pgops wal push %p as archive_command');
  const wal = parseWalFileName(path.basename(file));
  if (!wal) throw usageError(`${path.basename(file)} is not a WAL file name`, 'wal push takes %p from archive_command: a segment, a .partial segment, a .history or a .backup file');
  const handle = await fs.open(file, 'r').catch((err: unknown) => {
    throw new PgopsError(`cannot read ${file}: ${messageOf(err)}`, { code: ExitCode.FAILED, hint: 'archive_command runs in the data directory as the server user: %p is relative to it' });
  });
  try {
    const size = (await handle.stat()).size;
    const systemId = await systemIdOf(handle, wal, size, o);
    // a writer reads pgops-repo.json first: a request that does not take the signal, so the interrupt must not wait on it
    const opening = openRepo(o.repo, o, log, { writer: true });
    const repo = await abortable(opening, ctx.signal).catch((err: unknown) => {
      opening.then((r) => r.close(), () => {});
      throw err;
    });
    try {
      const req: PushRequest = { repo, systemId, handle, file, name: wal.name, size, compression: o.walCompress, now: ctx.now(), signal: ctx.signal };
      const existing = await abortable(readSidecar(repo, systemId, wal.name), ctx.signal);
      const result = existing ? await pushAgain(req, existing) : await pushNew(req);
      const ms = Date.now() - started;
      const summary = `${result.again ? 'already archived' : 'archived'} ${wal.name} (${formatSize(result.sidecar.size)}${result.sidecar.compression === 'none' ? '' : `, ${result.sidecar.compression} ${formatSize(result.sidecar.storedSize)}`}) in ${repo.url.replace(/\/$/, '')}/${walFolder(systemId)}/ in ${ms}ms`;
      log.debug('done', summary, { name: wal.name, sha256: result.sidecar.sha256, ms });
      return { exitCode: ExitCode.OK, summary, data: { ok: true, name: wal.name, systemIdentifier: systemId, again: result.again, repaired: result.repaired, sidecar: result.sidecar, ms } };
    } finally {
      await repo.close();
    }
  } finally {
    await handle.close();
  }
};

// The system a file belongs to: a segment's own header says it (and must fit its name); history and backup-label
// files carry none, so --system-id or the data directory's pg_control decide.
async function systemIdOf(handle: fs.FileHandle, wal: WalFileName, size: number, o: SystemIdOptions): Promise<string> {
  if (wal.kind !== 'segment' && wal.kind !== 'partial') return configuredSystemId(o, wal.name);
  const buf = Buffer.alloc(LONG_HEADER_SIZE);
  const { bytesRead } = await handle.read(buf, 0, LONG_HEADER_SIZE, 0);
  let mismatch: string | undefined;
  let systemId: string;
  try {
    const header = parseSegmentHeader(buf.subarray(0, bytesRead));
    mismatch = headerMismatch(header, wal, size);
    systemId = header.systemIdentifier;
  } catch (err) {
    mismatch = messageOf(err);
    systemId = '';
  }
  if (mismatch) throw new PgopsError(`refusing to archive ${wal.name}: ${mismatch}`, { code: ExitCode.FAILED, hint: 'archive_command must be given %p, the segment PostgreSQL just finished; the file is damaged or not a WAL segment' });
  if (o.systemId !== undefined && checkSystemId(o.systemId) !== systemId) {
    throw new PgopsError(`refusing to archive ${wal.name}: it belongs to database system ${systemId}, --system-id says ${o.systemId}`, {
      code: ExitCode.FAILED,
      hint: 'drop --system-id from archive_command (segments carry their own), or fix it',
    });
  }
  return systemId;
}
