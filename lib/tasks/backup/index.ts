import type pg from 'pg';
import { backupIdFor, setPrefix, MANIFEST_FILE } from '../../repo/layout.ts';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type Manifest } from '../../repo/manifest.ts';
import { ExitCode, PgopsError } from '../../errors.ts';
import { findPgTool, type PgBinary } from '../../pg/binaries.ts';
import { HASH_ALGORITHM } from '../../pg/fingerprint.ts';
import { childAuth, connect, displayUrl, libpqConnString, parseDbUrl, type ConnInfo } from '../../pg/connection.ts';
import { takeAdvisoryLock } from '../../pg/lock.ts';
import { serverFacts, type ServerFacts } from '../../pg/server.ts';
import { byteProgress } from '../../progress.ts';
import { openRepo } from '../../repo/open.ts';
import { setMarks } from '../../repo/pin.ts';
import type { Repo } from '../../repo/repo.ts';
import type { OptionsOf } from '../../options.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { formatDuration, formatSize } from '../../units.ts';
import { VERSION } from '../../version.ts';
import { takeLease, type HeldLease } from './lease.ts';
import { writeSet, type WrittenSet } from './write-set.ts';

export const BACKUP_LOCK = 'pgops backup';

// pgops backup: one database, dumped in an exported snapshot, streamed into the repository under a lease, manifest last.
// Phases: connect (the repository and the programs are probed meanwhile), prepare (server facts, the lock, the
// programs, a free backup id), write the set (write-set.ts), record (the manifest, which makes the set exist).
export const backup: TaskHandler<'backup'> = async (ctx) => {
  const { options: o, log } = ctx;
  // a bad --label is refused before the repository or the database is touched
  setMarks(o, ctx.now());
  const info = parseDbUrl(o.db, ctx.env);
  const repo = await openRepo(o.repo, o, log, { writer: true });
  // the client programs and the repository are probed while the connection is made: each costs a process
  // start or a round trip, and a backup's fixed cost counts in every nightly run
  const probes = Promise.all([findPgTool('pg_dump', { pgBin: o.pgBin }), findPgTool('pg_dumpall', { pgBin: o.pgBin })]);
  const repoReady = repo.check();
  probes.catch(() => {});
  repoReady.catch(() => {});
  const { client, signal } = await connectWatched(ctx, info, repo);
  const auth = childAuth(info, ctx.env);
  let lease: HeldLease | undefined;
  try {
    const { facts, pgDump, pgDumpall, id } = await prepare(ctx, client, repo, { probes, repoReady });
    const prefix = setPrefix(facts.database, id);
    // the lease comes first, so prune sees a live writer before any other file of the set exists
    lease = await takeLease(repo, prefix, { now: ctx.now, log });
    log.info('start', `backup ${id} of ${displayUrl(info)} into ${repo.url} (pg_dump ${pgDump.version}, ${o.format} format)`, { backupId: id });
    const started = ctx.now();
    const set = await writeSet({
      ctx: { ...ctx, signal },
      repo,
      client,
      info,
      lease,
      prefix,
      pgDump,
      pgDumpall,
      env: auth.env,
      connString: libpqConnString(info),
      onProgress: byteProgress(log, `backup ${id}`),
    });
    const manifest = manifestOf(o, { id, facts, pgDump, started, finished: ctx.now(), set });
    await set.commit(MANIFEST_FILE, JSON.stringify(manifest, null, 2) + '\n');
    return backupResult(ctx, manifest, repo.url);
  } finally {
    await lease?.stop();
    await client.end().catch(() => {});
    auth.cleanup();
    await repo.close();
  }
};

// Connects to the database to back up (closing the repository when that fails). The signal the set is written
// under is the run's, also aborted when the connection is lost (terminated, server restart): it holds the lock and
// the snapshot, so pg_dump is stopped too.
async function connectWatched(ctx: TaskContext<'backup'>, info: ConnInfo, repo: Repo): Promise<{ client: pg.Client; signal: AbortSignal }> {
  const client = await connect(info, 'pgops backup').catch(async (err) => {
    await repo.close();
    throw err;
  });
  const lost = new AbortController();
  client.on('error', (err) =>
    lost.abort(new PgopsError(`the backup's database connection was lost: ${err.message}`, { hint: 'it was ended (pg_terminate_backend) or the server restarted; nothing was committed: run the backup again' })),
  );
  return { client, signal: AbortSignal.any([ctx.signal, lost.signal]) };
}

// Before anything is written: the server's facts, the backup's advisory lock (exit 4 when another backup of this
// database runs), a ready repository, the programs for this server's version, and a free backup id.
async function prepare(ctx: TaskContext<'backup'>, client: pg.Client, repo: Repo, started: { probes: Promise<unknown>; repoReady: Promise<void> }) {
  const pgBin = ctx.options.pgBin;
  const facts = await serverFacts(client);
  await takeAdvisoryLock(client, BACKUP_LOCK);
  await started.repoReady;
  await started.probes.catch(() => {});
  // the probes are cached: these only pick the newest that is at least the server's version, or explain
  const pgDump = await findPgTool('pg_dump', { pgBin, minMajor: facts.major });
  const pgDumpall = await findPgTool('pg_dumpall', { pgBin, minMajor: facts.major });
  const id = await freeBackupId(repo, facts.database, ctx.now());
  return { facts, pgDump, pgDumpall, id };
}

// The set's manifest: what was dumped by which pg_dump, in which snapshot, every file with its size and sha256, and
// what the snapshot held (fingerprints, inventory, database properties), and --label and --pin (the pin counts from
// the commit).
function manifestOf(o: OptionsOf<'backup'>, b: { id: string; facts: ServerFacts; pgDump: PgBinary; started: Date; finished: Date; set: WrittenSet }): Manifest {
  const { facts, set } = b;
  return {
    format: MANIFEST_FORMAT,
    manifestVersion: MANIFEST_VERSION,
    backupId: b.id,
    database: facts.database,
    tool: { name: 'pgops', version: VERSION },
    server: { version: facts.version, versionNum: facts.versionNum, systemIdentifier: facts.systemIdentifier, inRecovery: facts.inRecovery },
    pgDump: { version: b.pgDump.version, format: o.format, jobs: o.format === 'directory' ? o.jobs : 1, compress: o.compress },
    startedAt: b.started.toISOString(),
    finishedAt: b.finished.toISOString(),
    durationMs: b.finished.getTime() - b.started.getTime(),
    snapshot: set.snapshot,
    files: set.files,
    totalSize: set.files.reduce((s, f) => s + f.size, 0),
    fingerprints: { mode: o.fingerprint, tables: set.tables, ...(o.fingerprint === 'hash' ? { algorithm: HASH_ALGORITHM } : {}) },
    inventory: set.inventory,
    databaseProperties: set.databaseProperties,
    ...setMarks(o, b.finished),
  };
}

// The result of a committed backup: its size, duration and throughput.
function backupResult(ctx: TaskContext<'backup'>, m: Manifest, repoUrl: string): TaskResult {
  const secs = Math.max(0.001, m.durationMs / 1000);
  const summary = `backup ${m.backupId} of database "${m.database}" complete: ${formatSize(m.totalSize)} in ${formatDuration(m.durationMs)} (${formatSize(m.totalSize / secs)}/s), ${m.fingerprints.tables.length} tables fingerprinted, into ${repoUrl}`;
  ctx.log.info('done', summary, { backupId: m.backupId, bytes: m.totalSize, durationMs: m.durationMs });
  return {
    exitCode: ExitCode.OK,
    summary,
    data: { ok: true, backupId: m.backupId, database: m.database, repo: repoUrl, bytes: m.totalSize, durationMs: m.durationMs, snapshot: m.snapshot, files: m.files, manifest: `${setPrefix(m.database, m.backupId)}${MANIFEST_FILE}` },
  };
}

// The backup id for now, moved on by a second while a set with that id exists (ids are unique per database).
async function freeBackupId(repo: Repo, database: string, now: Date): Promise<string> {
  for (let t = now.getTime(); ; t += 1000) {
    const id = backupIdFor(new Date(t));
    if ((await repo.list(setPrefix(database, id))).length === 0) return id;
  }
}
