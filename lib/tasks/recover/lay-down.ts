import fs, { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import path from 'node:path';
import { ExitCode, PgopsError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { execPgTool } from '../../pg/exec-tool.ts';
import type { Repo } from '../../repo/repo.ts';
import { decompressStream, methodOf } from '../../tar/compression.ts';
import { extractTar } from '../../tar/extract.ts';
import { formatSize } from '../../units.ts';
import { parseBackupManifestFacts } from '../basebackup/label.ts';
import { HashCounter } from '../../repo/hashing.ts';
import { checkTarRead, fetchBaseBackup, stagingFolder, tarMismatch } from './fetch.ts';
import { checkUserReaches, osUserIds, runningAsRoot } from './os-user.ts';
import { checkPgdata, preparePgdata, removeLaidDown } from './pgdata.ts';
import type { RecoveryPlan } from './plan.ts';
import { writeRecoverySettings } from './settings.ts';
import { majorOf, serverBinDir, toolIn } from './tools.ts';

// What a lay-down did, and how long each part took.
export interface LaidDown {
  /** stored bytes checked (and downloaded from a remote repository) */
  bytes: number;
  /** bytes of the tar stream laid down */
  tarBytes: number;
  files: number;
  downloadMs: number;
  layDownMs: number;
  verifyMs: number;
  /** of layDownMs: the fsyncs of files and folders */
  syncMs: number;
  /** the backup came from a standby: its standby.signal was removed (an archive recovery, not a standby) */
  removedStandbySignal: boolean;
  /** configuration files the backup lacked (kept outside its data directory), written minimal */
  wroteConfig: string[];
  /** the folder of the server programs of the backup's major version */
  binDir: string;
}

// Where and how to lay a base backup down.
export interface LayDownOptions {
  pgdata: string;
  osUser: string;
  pgBin?: string;
  restoreCommand: string;
  settings: Record<string, string>;
  signal: AbortSignal;
  log: Logger;
  onProgress?: (bytes: number, phase: 'check' | 'lay-down') => void;
  /** the clock of the settings' comment */
  now?: () => Date;
}

// Checks every file of the base backup against its sha256 (exit 6 when one differs: nothing is laid down, or, for a
// tar checked as it is read, what was laid down is removed), lays the backup down into pgdata (absent or empty;
// owned by osUser when we are root), runs pg_verifybackup, writes the
// settings and restore_command into postgresql.auto.conf and creates recovery.signal. On failure, what was laid down
// is removed (pgdata too when it was created here); the staging folder is removed whatever happens.
export async function layDown(repo: Repo, plan: RecoveryPlan, opts: LayDownOptions): Promise<LaidDown> {
  const { pgdata, log, signal } = opts;
  const m = plan.backup.manifest;
  const { absent } = checkPgdata(pgdata);
  const owner = runningAsRoot() ? await osUserIds(opts.osUser) : undefined;
  const binDir = await serverBinDir(majorOf(m.server.versionNum), opts.pgBin);
  if (owner) await checkUserReaches(opts.osUser, path.dirname(pgdata));

  const t0 = Date.now();
  const fetched = await fetchBaseBackup(repo, plan.backup, { staging: stagingFolder(pgdata, plan.backup.id), signal, onProgress: (n) => opts.onProgress?.(n, 'check') });
  try {
    const downloadMs = Date.now() - t0;
    const unchecked = fetched.tarUnchecked;
    log.info(
      'checked',
      unchecked
        ? `base backup ${plan.backup.id}: backup_manifest matches the manifest's sha256; the base tar is checked as it is laid down (read in place)`
        : `base backup ${plan.backup.id}: ${m.files.length} files match the manifest's sha256 (${formatSize(fetched.bytes)}${fetched.staged ? ', downloaded beside the data directory' : ', read in place'})`,
    );
    try {
      preparePgdata(pgdata, absent, owner);
      const t1 = Date.now();
      // every file's content is checked against backup_manifest's SHA256 as it is written, so pg_verifybackup need
      // not read the data directory again (-s); a manifest with other checksums is left to pg_verifybackup whole
      const listed = parseBackupManifestFacts(fs.readFileSync(fetched.manifestPath, 'utf8'));
      const sha256 = listed.sha256.size === listed.files.size ? listed.sha256 : undefined;
      // a tar read in place is checked as it is laid down: every byte of it, by each file's SHA256 and the parser's
      // checks of the rest (lib/tar/parse.ts); only without those sums is the tar's own sha256 needed, computed as it
      // is read (of an uncompressed tar on a lay-down thread, of a compressed one here: the pipeline hands a read error
      // on to the hash, and so to the lay-down)
      const method = methodOf(m.compression);
      const hashTar = Boolean(unchecked && !sha256);
      const read = hashTar && method !== 'none' ? new HashCounter() : undefined;
      // an uncompressed tar is read straight into the lay-down's buffers; a compressed one streams through its decompressor
      const stream = () => {
        const file = createReadStream(fetched.tarPath, { highWaterMark: 1024 * 1024 });
        return read ? pipeline(file, read, () => {}) : file;
      };
      const source = method === 'none' ? { file: fetched.tarPath } : stream();
      const extracted = await extractTar(source, pgdata, { decompress: decompressStream(method), owner, signal, sha256, hashTar: hashTar && !read, onProgress: (n) => opts.onProgress?.(n, 'lay-down') }).catch(async (err: unknown) => {
        // a damaged tar fails as a tar or a decompressor fails (or as a file whose sum differs): its checksum is the
        // real cause
        throw (unchecked && (await tarMismatch(repo, unchecked, signal))) || err;
      });
      if (unchecked && hashTar) checkTarRead(unchecked, read ? { sha256: read.digest(), size: read.bytes } : { sha256: extracted.tarSha256!, size: extracted.tarBytes });
      const layDownMs = Date.now() - t1;
      log.info('laid-down', `laid ${extracted.files} files (${formatSize(extracted.tarBytes)}) down into ${pgdata}${owner ? `, owned by ${opts.osUser}` : ''}, ${extracted.checked} checked against backup_manifest's sha256 on the way (fsync ${extracted.syncMs} ms)`);

      const t2 = Date.now();
      // -n: no WAL parsing, the WAL comes from the archive during recovery
      await execPgTool({
        file: toolIn(binDir, 'pg_verifybackup'),
        // -s when every file's sha256 was checked during the lay-down: presence, sizes and the manifest's own checksum
        args: ['-n', '-q', ...(sha256 && extracted.checked === sha256.size ? ['-s'] : []), '-m', fetched.manifestPath, pgdata],
        env: { PATH: process.env.PATH, LC_ALL: 'C' },
        signal,
        what: `pg_verifybackup of ${pgdata}`,
      }).catch((err: Error) => {
        throw new PgopsError(`the laid-down base backup ${plan.backup.id} does not match its backup_manifest: ${err.message}`, { code: ExitCode.INTEGRITY, hint: 'the base backup is damaged in a way its sha256 did not show (or was written by another tool): recover from another one (--backup ID)' });
      });
      const verifyMs = Date.now() - t2;
      const written = writeRecoverySettings(pgdata, { restore_command: opts.restoreCommand, ...opts.settings }, { backupId: plan.backup.id, now: opts.now?.() ?? new Date(), owner });
      return { bytes: fetched.bytes + (unchecked ? (read?.bytes ?? extracted.tarBytes) : 0), tarBytes: extracted.tarBytes, files: extracted.files, downloadMs, layDownMs, verifyMs, syncMs: extracted.syncMs, ...written, binDir };
    } catch (err) {
      removeLaidDown(pgdata, absent);
      throw err;
    }
  } finally {
    await fetched.cleanup();
  }
}
