import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExitCode, PgopsError, messageOf, usageError } from '../../errors.ts';
import { HashCounter } from '../../repo/hashing.ts';
import { openRepo } from '../../repo/open.ts';
import type { Repo } from '../../repo/repo.ts';
import type { TaskHandler } from '../../task.ts';
import { formatSize } from '../../units.ts';
import { headerMismatch, LONG_HEADER_SIZE, parseSegmentHeader } from '../../wal/header.ts';
import { dataKey, encodeSidecar, sidecarKey, walFolder, SIDECAR_FORMAT, type Compression, type Sidecar } from '../../wal/layout.ts';
import { parseWalFileName, type WalFileName } from '../../wal/names.ts';
import { abortable } from './abortable.ts';
import { readSidecar } from './archived.ts';
import { compressor } from './compression.ts';
import { archiveLocally, durableWrite, hashFile } from './local-write.ts';
import { checkSystemId, configuredSystemId } from './system-id.ts';

// pgops wal push <path>: archive_command. Archives one WAL file into wal/<system identifier>/ of the repository, data
// first and sidecar last; the same file again is success, a different file under an archived name is refused.
export const walPush: TaskHandler = async (ctx) => {
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
    const repo = await openRepo(o.repo as string | undefined, o, log);
    try {
      const existing = await abortable(readSidecar(repo, systemId, wal.name), ctx.signal);
      const result = existing
        ? await pushAgain(repo, systemId, handle, existing, ctx.signal)
        : await pushNew(repo, systemId, handle, wal.name, size, o.walCompress as Compression, ctx.now(), ctx.signal);
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
async function systemIdOf(handle: fs.FileHandle, wal: WalFileName, size: number, o: Record<string, unknown>): Promise<string> {
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
  if (o.systemId !== undefined && checkSystemId(String(o.systemId)) !== systemId) {
    throw new PgopsError(`refusing to archive ${wal.name}: it belongs to database system ${systemId}, --system-id says ${String(o.systemId)}`, {
      code: ExitCode.FAILED,
      hint: 'drop --system-id from archive_command (segments carry their own), or fix it',
    });
  }
  return systemId;
}

interface Pushed {
  sidecar: Sidecar;
  again: boolean;
  repaired: boolean;
}

// The file is archived already: success when it is the same file, an error naming both hashes otherwise.
async function pushAgain(repo: Repo, systemId: string, handle: fs.FileHandle, existing: Sidecar, signal: AbortSignal): Promise<Pushed> {
  const local = await hashFile(handle);
  if (local.sha256 !== existing.sha256 || local.size !== existing.size) {
    throw new PgopsError(
      `${existing.name} is already archived in ${repo.url} with sha256 ${existing.sha256} (${existing.size} bytes); this file has sha256 ${local.sha256} (${local.size} bytes): nothing was overwritten`,
      {
        code: ExitCode.FAILED,
        hint: 'two servers with the same system identifier may archive into one repository (a copy of a data directory started as a second primary?); give each its own --repo, and keep the archived file until you know which one recovery needs',
      },
    );
  }
  // the sidecar is written last, so its data object is there, unless someone deleted it: put it back
  const key = dataKey(systemId, existing.name, existing.compression);
  const repaired = !(await abortable(repo.exists(key), signal));
  if (repaired) await repo.put(key, (await storedBody(handle, existing.compression, existing.size)).body, { signal });
  return { sidecar: existing, again: true, repaired };
}

// Archives a file that is not archived yet: the data object (compressed or not), then the sidecar.
async function pushNew(repo: Repo, systemId: string, handle: fs.FileHandle, name: string, size: number, compression: Compression, now: Date, signal: AbortSignal): Promise<Pushed> {
  const key = dataKey(systemId, name, compression);
  const sidecarFor = (content: { bytes: number; sha256: string }, storedSize: number): Sidecar => {
    if (content.bytes !== size) {
      throw new PgopsError(`${name} changed while it was archived: ${content.bytes} bytes read, ${size} expected`, { code: ExitCode.FAILED, hint: 'nothing was archived; PostgreSQL retries archive_command' });
    }
    return { format: SIDECAR_FORMAT, version: 1, name, systemIdentifier: systemId, size, sha256: content.sha256, compression, stored: path.basename(key), storedSize, pushedAt: now.toISOString() };
  };
  const local = repo.localPath(key);
  const sidecarPath = repo.localPath(sidecarKey(systemId, name));
  if (local && sidecarPath && compression === 'none') {
    // the common case, and the one archive_command waits for: a plain copy into a folder, the sidecar written beside
    let sidecar: Sidecar | undefined;
    await archiveLocally(handle, local, { path: sidecarPath, text: (copied) => encodeSidecar((sidecar = sidecarFor({ bytes: copied.size, sha256: copied.sha256 }, copied.size))) }, signal);
    return { sidecar: sidecar as Sidecar, again: false, repaired: false };
  }
  const body = await storedBody(handle, compression, size);
  const stored = await repo.put(key, body.body, { signal });
  let sidecar: Sidecar;
  try {
    const fed = await body.feed;
    if (fed instanceof Error) throw fed;
    // uncompressed, the stored bytes are the file: the repository's own hash is the content hash
    sidecar = sidecarFor(body.content ? { bytes: body.content.bytes, sha256: body.content.digest() } : { bytes: stored.size, sha256: stored.sha256 }, stored.size);
  } catch (err) {
    await repo.delete([key]);
    throw err;
  }
  if (sidecarPath) await durableWrite(sidecarPath, encodeSidecar(sidecar));
  else await abortable(repo.putBytes(sidecarKey(systemId, name), encodeSidecar(sidecar)), signal);
  return { sidecar, again: false, repaired: false };
}

// The bytes to store: the file itself, or the file through a content hash and a compressor.
async function storedBody(handle: fs.FileHandle, compression: Compression, size: number): Promise<{ body: Readable; content?: HashCounter; feed: Promise<unknown> }> {
  const source = handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 1024 * 1024 });
  const zip = await compressor(compression, size);
  if (!zip) return { body: source, feed: Promise.resolve() };
  const content = new HashCounter();
  const feed = pipeline(source, content, zip).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  return { body: zip, content, feed };
}
