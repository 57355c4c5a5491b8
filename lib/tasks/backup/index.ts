import { backupIdFor, setPrefix } from '../../backup-set.ts';
import { ExitCode, PgopsError } from '../../errors.ts';
import { MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, type Manifest } from '../../manifest.ts';
import { findPgTool } from '../../pg/binaries.ts';
import { HASH_ALGORITHM } from '../../pg/fingerprint.ts';
import { childAuth, connect, displayUrl, libpqConnString, parseDbUrl } from '../../pg/connection.ts';
import { takeAdvisoryLock } from '../../pg/lock.ts';
import { serverFacts } from '../../pg/server.ts';
import { byteProgress } from '../../progress.ts';
import { openRepo } from '../../repo/open.ts';
import type { Repo } from '../../repo/repo.ts';
import type { TaskHandler } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { VERSION } from '../../version.ts';
import { takeLease, type HeldLease } from './lease.ts';
import { runSet } from './run-set.ts';

export const BACKUP_LOCK = 'pgops backup';

// pgops backup: one database, dumped in an exported snapshot, streamed into the repository under a lease, manifest last.
export const backup: TaskHandler<'backup'> = async (ctx) => {
  const { options: o, log } = ctx;
  const info = parseDbUrl(o.db as string | undefined, ctx.env);
  const repo = await openRepo(o.repo as string | undefined, o, log, { writer: true });
  const pgBin = o.pgBin as string | undefined;
  // the client programs and the repository are probed while the connection is made: each costs a process
  // start or a round trip, and a backup's fixed cost counts in every nightly run
  const probes = Promise.all([findPgTool('pg_dump', { pgBin }), findPgTool('pg_dumpall', { pgBin })]);
  const repoReady = repo.check();
  probes.catch(() => {});
  repoReady.catch(() => {});
  const client = await connect(info, 'pgops backup').catch(async (err) => {
    await repo.close();
    throw err;
  });
  // the connection holds the lock and the snapshot: when it is lost (terminated, server restart) stop pg_dump too
  const lost = new AbortController();
  client.on('error', (err) =>
    lost.abort(new PgopsError(`the backup's database connection was lost: ${err.message}`, { hint: 'it was ended (pg_terminate_backend) or the server restarted; nothing was committed: run the backup again' })),
  );
  const runCtx = { ...ctx, signal: AbortSignal.any([ctx.signal, lost.signal]) };
  const auth = childAuth(info, ctx.env);
  let lease: HeldLease | undefined;
  try {
    const facts = await serverFacts(client);
    await takeAdvisoryLock(client, BACKUP_LOCK);
    await repoReady;
    await probes.catch(() => {});
    // the probes are cached: these only pick the newest that is at least the server's version, or explain
    const pgDump = await findPgTool('pg_dump', { pgBin, minMajor: facts.major });
    const pgDumpall = await findPgTool('pg_dumpall', { pgBin, minMajor: facts.major });
    const id = await freeBackupId(repo, facts.database, ctx.now());
    // the lease comes first, so prune sees a live writer before any other file of the set exists
    lease = await takeLease(repo, setPrefix(facts.database, id), { now: ctx.now, log });
    log.info('start', `backup ${id} of ${displayUrl(info)} into ${repo.url} (pg_dump ${pgDump.version}, ${o.format} format)`, { backupId: id });
    const started = ctx.now();
    const set = await runSet({
      ctx: runCtx,
      repo,
      client,
      info,
      lease,
      prefix: setPrefix(facts.database, id),
      pgDump,
      pgDumpall,
      env: auth.env,
      connString: libpqConnString(info),
      onProgress: byteProgress(log, `backup ${id}`),
    });
    const finished = ctx.now();
    const totalSize = set.files.reduce((s, f) => s + f.size, 0);
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      manifestVersion: MANIFEST_VERSION,
      backupId: id,
      database: facts.database,
      tool: { name: 'pgops', version: VERSION },
      server: { version: facts.version, versionNum: facts.versionNum, systemIdentifier: facts.systemIdentifier, inRecovery: facts.inRecovery },
      pgDump: { version: pgDump.version, format: o.format as 'custom' | 'directory', jobs: o.format === 'directory' ? (o.jobs as number) : 1, compress: o.compress as string | undefined },
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - started.getTime(),
      snapshot: set.snapshot,
      files: set.files,
      totalSize,
      fingerprints: { mode: o.fingerprint as 'hash' | 'count' | 'none', tables: set.tables, ...(o.fingerprint === 'hash' ? { algorithm: HASH_ALGORITHM } : {}) },
      inventory: set.inventory,
      databaseProperties: set.databaseProperties,
    };
    await set.commit(MANIFEST_FILE, JSON.stringify(manifest, null, 2) + '\n');
    const secs = Math.max(0.001, manifest.durationMs / 1000);
    const summary = `backup ${id} of database "${facts.database}" complete: ${formatSize(totalSize)} in ${formatDuration(manifest.durationMs)} (${formatSize(totalSize / secs)}/s), ${set.tables.length} tables fingerprinted, into ${repo.url}`;
    log.info('done', summary, { backupId: id, bytes: totalSize, durationMs: manifest.durationMs });
    return {
      exitCode: ExitCode.OK,
      summary,
      data: { ok: true, backupId: id, database: facts.database, repo: repo.url, bytes: totalSize, durationMs: manifest.durationMs, snapshot: set.snapshot, files: set.files, manifest: `${setPrefix(facts.database, id)}${MANIFEST_FILE}` },
    };
  } finally {
    await lease?.stop();
    await client.end().catch(() => {});
    auth.cleanup();
    await repo.close();
  }
};

// The backup id for now, moved on by a second while a set with that id exists (ids are unique per database).
async function freeBackupId(repo: Repo, database: string, now: Date): Promise<string> {
  for (let t = now.getTime(); ; t += 1000) {
    const id = backupIdFor(new Date(t));
    if ((await repo.list(setPrefix(database, id))).length === 0) return id;
  }
}
