import type pg from 'pg';
import { ExitCode, PgopsError } from '../../errors.ts';
import { findPgTool, type PgBinary } from '../../pg/binaries.ts';
import { childAuth, connect, displayUrl, libpqConnString, parseDbUrl } from '../../pg/connection.ts';
import { takeAdvisoryLock } from '../../pg/lock.ts';
import { serverFacts, type ServerFacts } from '../../pg/server.ts';
import { byteProgress } from '../../progress.ts';
import { basebackupManifestKey, basebackupPrefix, backupIdFor, walFolder } from '../../repo/layout.ts';
import { openRepo } from '../../repo/open.ts';
import { setMarks } from '../../repo/pin.ts';
import type { Repo } from '../../repo/repo.ts';
import { compressionText, parseCompression } from '../../tar/compression.ts';
import type { TaskContext, TaskHandler } from '../../task.ts';
import { removeUnfinished } from '../backup/cleanup.ts';
import { takeLease, type HeldLease } from '../backup/lease.ts';
import { endWalSender } from './archive-wait.ts';
import { preflightRefusal, readPreflightFacts, type PreflightFacts } from './preflight.ts';
import { baseBackupManifest, baseBackupResult } from './record.ts';
import { takeBaseBackup } from './take.ts';

export const BASEBACKUP_LOCK = 'pgops basebackup';

// pgops basebackup: the whole cluster with pg_basebackup (tar, -X none: the WAL comes from the archive), streamed
// into basebackups/<system identifier>/<backup id>/ under a lease, committed by its manifest once the stop segment
// is archived. Phases: prepare (the repository, the connection, the lock, pg_basebackup, the preflight, a free id),
// take (take.ts), record (the manifest, which makes the base backup exist). A failure or SIGTERM leaves nothing.
export const basebackup: TaskHandler<'basebackup'> = async (ctx) => {
  const { options: o, log } = ctx;
  // bad --compress and --label are refused before the repository or the database is touched
  const compression = parseCompression(o.compress);
  setMarks(o, ctx.now());
  const info = parseDbUrl(o.db, ctx.env);
  const repo = await openRepo(o.repo, o, log, { writer: true });
  const probe = findPgTool('pg_basebackup', { pgBin: o.pgBin });
  probe.catch(() => {});
  const { client, signal } = await connectWatched(ctx, info, repo);
  const auth = childAuth(info, ctx.env);
  let lease: HeldLease | undefined;
  try {
    const p = await prepare(ctx, client, repo, probe);
    const prefix = basebackupPrefix(p.systemId, p.id);
    // the lease comes first, so prune sees a live writer before any other file of the base backup exists
    lease = await takeLease(repo, prefix, { now: ctx.now, log });
    const applicationName = `pgops basebackup ${p.id}`;
    log.info('start', `base backup ${p.id} of ${displayUrl(info)} (system ${p.systemId}${p.preflight.inRecovery ? ', a standby' : ''}) into ${repo.url} (pg_basebackup ${p.pgBasebackup.version}, compression ${compressionText(compression)})`, { backupId: p.id });
    const started = ctx.now();
    try {
      const taken = await takeBaseBackup({
        client,
        repo,
        prefix,
        id: p.id,
        systemId: p.systemId,
        pgBasebackup: p.pgBasebackup,
        connString: libpqConnString(info),
        env: { ...auth.env, PGAPPNAME: applicationName },
        applicationName,
        compression,
        inRecovery: p.preflight.inRecovery,
        walSegmentSize: p.preflight.walSegmentSize,
        archiveTimeoutMs: o.archiveTimeout,
        signal,
        log,
        onProgress: byteProgress(log, `base backup ${p.id}`),
        // only s3 sizes its parts by it: pg_database_size() walks every file of every database
        sizeHint: repo.kind === 's3' ? await clusterSizeHint(client) : undefined,
        started,
        now: ctx.now,
      });
      const finished = ctx.now();
      const manifest = baseBackupManifest({
        id: p.id,
        systemIdentifier: p.systemId,
        server: p.facts,
        pgBasebackupVersion: p.pgBasebackup.version,
        compression: compressionText(compression),
        started,
        finished,
        ...taken,
        // the pin counts from the commit
        marks: setMarks(o, finished),
      });
      signal.throwIfAborted();
      lease.assertHeld();
      // never over a manifest already there: a base backup, once committed, stays as it was
      await repo.putBytes(basebackupManifestKey(p.systemId, p.id), JSON.stringify(manifest, null, 2) + '\n', { ifAbsent: true, signal });
      await lease.release();
      const result = baseBackupResult(manifest, repo.url);
      log.info('done', result.summary, { backupId: p.id, bytes: manifest.totalSize, durationMs: manifest.durationMs, members: taken.memberCount });
      return result;
    } catch (err) {
      // a server still waiting in the backup's stop would wait on after pg_basebackup is gone
      await endWalSender(client, applicationName, log);
      throw await removeUnfinished(repo, prefix, err, log, lease);
    }
  } finally {
    await lease?.stop();
    await client.end().catch(() => {});
    auth.cleanup();
    await repo.close();
  }
};

// Connects to --db (closing the repository when that fails). The signal the backup runs under is the run's, also
// aborted when the connection is lost: it holds the lock, so pg_basebackup is stopped too.
async function connectWatched(ctx: TaskContext<'basebackup'>, info: ReturnType<typeof parseDbUrl>, repo: Repo): Promise<{ client: pg.Client; signal: AbortSignal }> {
  const client = await connect(info, BASEBACKUP_LOCK).catch(async (err) => {
    await repo.close();
    throw err;
  });
  const lost = new AbortController();
  client.on('error', (err) =>
    lost.abort(new PgopsError(`the base backup's database connection was lost: ${err.message}`, { hint: 'it was ended (pg_terminate_backend) or the server restarted; nothing was committed: run the base backup again' })),
  );
  return { client, signal: AbortSignal.any([ctx.signal, lost.signal]) };
}

// Before anything is written: the server's facts, the lock (exit 4 when another base backup runs), pg_basebackup for
// this server's version, the preflight's refusals (exit 3), and a free backup id.
async function prepare(ctx: TaskContext<'basebackup'>, client: pg.Client, repo: Repo, probe: Promise<PgBinary>) {
  const facts: ServerFacts = await serverFacts(client);
  if (!facts.systemIdentifier) {
    throw new PgopsError(`role "${facts.user}" may not read the system identifier (pg_control_system())`, {
      code: ExitCode.UNKNOWN,
      hint: 'base backups are filed under it: take them as a superuser, or GRANT EXECUTE ON FUNCTION pg_control_system() TO the backup role',
    });
  }
  const systemId = facts.systemIdentifier;
  await takeAdvisoryLock(client, BASEBACKUP_LOCK);
  await probe.catch(() => {});
  // the probe is cached: this only picks the newest that is at least the server's version, or explains
  const pgBasebackup = await findPgTool('pg_basebackup', { pgBin: ctx.options.pgBin, minMajor: facts.major });
  const preflight: PreflightFacts = { ...(await readPreflightFacts(client)), repoHasWal: await repo.hasAny(`${walFolder(systemId)}/`) };
  const refusal = preflightRefusal(preflight, { repoUrl: repo.url, systemId });
  if (refusal) throw refusal;
  if (preflight.inRecovery && preflight.archiveMode !== 'always') {
    ctx.log.info('preflight', `a standby with archive_mode ${preflight.archiveMode}: the primary archives into ${repo.url}, and the stop segment arrives when it switches segments (archive_timeout, or pg_switch_wal())`);
  }
  return { facts, systemId, pgBasebackup, preflight, id: await freeBackupId(repo, systemId, ctx.now()) };
}

// The backup id for now, moved on by a second while a base backup with that id exists (ids are unique per system).
async function freeBackupId(repo: Repo, systemId: string, now: Date): Promise<string> {
  for (let t = now.getTime(); ; t += 1000) {
    const id = backupIdFor(new Date(t));
    if (!(await repo.hasAny(basebackupPrefix(systemId, id)))) return id;
  }
}

// An upper bound of the tar's size, for S3 part sizes: the databases this role may measure, plus room for the
// rest of the data directory; undefined when none can be measured (the store's default part size applies).
async function clusterSizeHint(client: pg.Client): Promise<number | undefined> {
  try {
    const { rows } = await client.query<{ n: string | null }>(`SELECT sum(pg_database_size(oid))::text AS n FROM pg_database WHERE datallowconn AND has_database_privilege(oid, 'CONNECT')`);
    return rows[0].n ? Math.ceil(Number(rows[0].n) * 1.25) + 256 * 1024 * 1024 : undefined;
  } catch {
    return undefined;
  }
}
