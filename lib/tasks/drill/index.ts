import { ExitCode, PgopsError, messageOf, usageError } from '../../errors.ts';
import { findPgTool, readsDumpOf, type PgBinary } from '../../pg/binaries.ts';
import { childAuth, connect, displayUrl, parseDbUrl, withDatabase, type ConnInfo } from '../../pg/connection.ts';
import { serverFacts } from '../../pg/server.ts';
import type { DrillCheck, DrillReport } from '../../repo/drill-reports.ts';
import { backupIdFor, setPrefix } from '../../repo/layout.ts';
import type { Manifest } from '../../repo/manifest.ts';
import { openRepo } from '../../repo/open.ts';
import type { Repo } from '../../repo/repo.ts';
import type { TaskContext, TaskHandler } from '../../task.ts';
import { formatDuration } from '../../units.ts';
import { VERSION } from '../../version.ts';
import { applySet, chooseSet, fetchVerified, type VerifiedSet } from '../restore/index.ts';
import { loadAssertions, type Assertion } from './assertions.ts';
import { recordDrill } from './record.ts';
import { renderText } from './render.ts';
import { dropScratch, ensureAbsent, scratchName } from './scratch.ts';
import { verifyRestored } from './verify.ts';

// pgops drill: restore the newest (or a given) backup into a scratch database and prove it matches what was dumped.
// Phases: prepare (the set, the drill server, the programs), restore (fetch and verify the files, pg_restore into
// the scratch database), verify (compare with what the backup recorded), record (the report, whatever happened).
export const drill: TaskHandler<'drill'> = async (ctx) => {
  // --pitr: the physical path, on a throwaway server of its own (pitr/)
  if (ctx.options.pitr) return (await import('./pitr/index.ts')).drillPitr(ctx);
  const { options: o, log } = ctx;
  const server = drillServer(ctx);
  const assertions = loadAssertions(o.assert ?? []);
  const repo = await openRepo(o.repo, o, log, { writer: true, reads: true });
  const auth = childAuth(server, ctx.env);
  let report: DrillReport | undefined;
  try {
    const { manifest } = await chooseSet(repo, o);
    report = startReport(manifest, server, ctx.now(), o.keep);
    const tools = await prepare(ctx, server, manifest, report);
    await restoreAndVerify(ctx, { repo, server, env: auth.env, manifest, assertions, ...tools }, report);
    report.result = report.checks.some((c) => c.status === 'fail') ? 'fail' : 'pass';
  } catch (err) {
    if (report) {
      report.error = messageOf(err);
      report.finishedAt = ctx.now().toISOString();
      await recordDrill(repo, report, log, ctx.env);
    }
    await repo.close();
    throw err;
  } finally {
    auth.cleanup();
  }
  report.finishedAt = ctx.now().toISOString();
  await recordDrill(repo, report, log, ctx.env);
  await repo.close();
  const text = renderText(report);
  (report.result === 'pass' ? log.info : log.error)('done', text.split('\n')[0], { drillId: report.drillId, backupId: report.backupId, result: report.result });
  return { exitCode: report.result === 'pass' ? ExitCode.OK : ExitCode.FAILED, summary: text, data: report };
};

// What the restore and verify phases work with.
interface DrillRun {
  repo: Repo;
  server: ConnInfo;
  /** the children's environment, with the drill server's password in a temp file (childAuth) */
  env: NodeJS.ProcessEnv;
  manifest: Manifest;
  assertions: Assertion[];
  pgRestore: PgBinary;
  psql: PgBinary;
}

// The drill server: a postgresql:// URL in --target, else --drill-target (any of libpq's forms); its postgres database
// when the string names none.
function drillServer(ctx: TaskContext<'drill'>): ConnInfo {
  const o = ctx.options;
  const serverUrl = o.target?.includes('://') ? o.target : o.drillTarget;
  if (!serverUrl) throw usageError('no drill server given', 'pass --target postgresql://user@host:5432/postgres (or --drill-target, PGOPS_DRILL_TARGET, or drill-target in the config file)');
  const server = parseDbUrl(serverUrl, ctx.env);
  if (!namesDatabase(serverUrl)) server.database = 'postgres';
  return server;
}

// Whether a connection string names its database itself (a URL's path or dbname=, a keyword/value dbname=), rather
// than leaving it to libpq's default (the user's name).
function namesDatabase(conn: string): boolean {
  if (!conn.includes('://')) return /(^|\s)dbname\s*=/.test(conn);
  const url = new URL(conn);
  return Boolean(url.pathname.replace(/^\//, '') || url.searchParams.get('dbname'));
}

// The report as the drill starts: result 'error' until the checks decide, so a drill that dies on the way says so.
function startReport(m: Manifest, server: ConnInfo, started: Date, keep: boolean): DrillReport {
  return {
    format: 'pgops-drill-report', reportVersion: 1, drillId: backupIdFor(started), database: m.database, backupId: m.backupId, result: 'error',
    startedAt: started.toISOString(), finishedAt: started.toISOString(), target: displayUrl(server), scratchDatabase: scratchName(m.backupId),
    kept: keep, rtoMs: null, rpoMs: started.getTime() - Date.parse(m.snapshot.time), checks: [], tool: { name: 'pgops', version: VERSION },
  };
}

// Before anything is written: the drill server is neither the backup's own database nor a standby, no scratch
// database of this backup is there already, and the programs that read this dump are found.
async function prepare(ctx: TaskContext<'drill'>, server: ConnInfo, m: Manifest, report: DrillReport): Promise<{ pgRestore: PgBinary; psql: PgBinary }> {
  const admin = await connect(server, 'pgops drill');
  try {
    const facts = await serverFacts(admin);
    if (facts.systemIdentifier !== null && facts.systemIdentifier === m.server.systemIdentifier && server.database === m.database) {
      throw usageError(`refusing to use database "${m.database}" as the drill server connection: it is the database the backup came from`, 'point --target at the maintenance database (postgres) of a server; the drill restores into a new scratch database there');
    }
    if (facts.inRecovery) throw usageError(`${displayUrl(server)} is a standby and cannot take a restore`, 'run drills on a primary or a scratch server');
    await ensureAbsent(admin, report.scratchDatabase);
  } finally {
    await admin.end().catch(() => {});
  }
  const pgBin = ctx.options.pgBin;
  const [pgRestore, psql] = await Promise.all([findPgTool('pg_restore', { pgBin, ...readsDumpOf(m.pgDump.version) }), findPgTool('psql', { pgBin })]);
  ctx.log.info('plan', `drill ${report.drillId}: backup ${m.backupId} of "${m.database}" (snapshot ${m.snapshot.time}) into scratch database ${report.scratchDatabase} on ${displayUrl(server)}`, { backupId: m.backupId });
  return { pgRestore, psql };
}

// Restores the set into the scratch database and verifies it, adding each check to the report (RTO: fetch, checksums
// and restore); then drops the scratch database, whatever happened, unless --keep.
async function restoreAndVerify(ctx: TaskContext<'drill'>, d: DrillRun, report: DrillReport): Promise<void> {
  const o = ctx.options;
  const scratch = { name: report.scratchDatabase, created: false };
  try {
    const t0 = Date.now();
    const verified = await fetchChecked(ctx, d, report.checks);
    const restored = verified && (await restoreScratch(ctx, d, verified, scratch, report.checks));
    if (verified) report.rtoMs = Date.now() - t0;
    if (restored) {
      report.checks.push(...(await verifyRestored({
        target: withDatabase(d.server, scratch.name), manifest: d.manifest, notReproduced: restored.notReproduced, assertions: d.assertions,
        amcheck: o.amcheck, statementTimeoutMs: o.statementTimeout, log: ctx.log, signal: ctx.signal, jobs: o.jobs,
      })));
    }
    report.checks.push(...limits(report, o.maxRpo, o.maxRto));
  } finally {
    // --keep keeps a scratch database that exists: a drill that stopped before creating one kept nothing
    report.kept = o.keep && scratch.created;
    if (scratch.created && !o.keep) await removeScratch(ctx, d.server, scratch.name);
  }
}

// Fetches the set's files and checks each against the manifest: the checksums check. Undefined when one does not match.
async function fetchChecked(ctx: TaskContext<'drill'>, d: DrillRun, checks: DrillCheck[]): Promise<VerifiedSet | undefined> {
  const m = d.manifest;
  try {
    const verified = await fetchVerified(d.repo, setPrefix(m.database, m.backupId), m, { tmpDir: ctx.options.tmpDir, signal: ctx.signal });
    checks.push({ name: 'checksums', status: 'pass', detail: `${m.files.length} files match the manifest's sha256` });
    return verified;
  } catch (err) {
    if (!(err instanceof PgopsError && err.code === ExitCode.INTEGRITY)) throw err;
    checks.push({ name: 'checksums', status: 'fail', detail: err.message });
    return undefined;
  }
}

// Creates the scratch database and restores the verified set into it: the restore check. Returns the properties it
// could not reproduce, or undefined when pg_restore failed.
async function restoreScratch(ctx: TaskContext<'drill'>, d: DrillRun, verified: VerifiedSet, scratch: { name: string; created: boolean }, checks: DrillCheck[]): Promise<{ notReproduced: string[] } | undefined> {
  const o = ctx.options;
  try {
    scratch.created = true;
    const applied = await applySet({
      log: ctx.log, signal: ctx.signal, target: withDatabase(d.server, scratch.name), env: d.env, dir: verified.dir, workDir: verified.workDir,
      createDatabase: true, properties: d.manifest.databaseProperties, skipUnavailable: o.skipUnavailableProperties,
      pgRestore: d.pgRestore, psql: d.psql, passes: [[]], jobs: o.jobs, clean: false, noOwner: false, dependencies: false,
    });
    checks.push({ name: 'restore', status: 'pass', detail: `pg_restore --exit-on-error${o.jobs > 1 ? ` --jobs ${o.jobs}` : ''} succeeded${applied.warnings.length ? `; ${applied.warnings.join('; ')}` : ''}` });
    return { notReproduced: applied.notReproduced };
  } catch (err) {
    // the drill server cannot take the database as it was (a role, tablespace or ICU it lacks): nothing was
    // restored, and that says nothing about the backup
    if (ctx.signal.aborted || (err instanceof PgopsError && err.code === ExitCode.UNKNOWN)) throw err;
    checks.push({ name: 'restore', status: 'fail', detail: messageOf(err) });
    return undefined;
  } finally {
    await verified.cleanup();
  }
}

// Drops the scratch database; one that cannot be dropped is a warning saying how, not the drill's failure.
async function removeScratch(ctx: TaskContext<'drill'>, server: ConnInfo, scratch: string): Promise<void> {
  const dropped = await dropScratch(server, scratch);
  if (typeof dropped === 'object') ctx.log.warn('cleanup', `could not drop the scratch database ${scratch}: ${dropped.problem}`, { hint: `drop it by hand: DROP DATABASE ... WITH (FORCE)` });
  else ctx.log.info('cleanup', dropped === 'dropped' ? `dropped the scratch database ${scratch}` : `no scratch database ${scratch} to drop: the drill stopped before creating it`);
}

// The RPO and RTO checks, when limits are set.
function limits(r: DrillReport, maxRpo?: number, maxRto?: number): DrillCheck[] {
  const out: DrillCheck[] = [];
  if (maxRpo !== undefined) {
    out.push(r.rpoMs <= maxRpo
      ? { name: 'rpo', status: 'pass', detail: `backup is ${formatDuration(r.rpoMs)} old at drill start (limit ${formatDuration(maxRpo)})` }
      : { name: 'rpo', status: 'fail', detail: `backup is ${formatDuration(r.rpoMs)} old at drill start, over the limit of ${formatDuration(maxRpo)}: backups are not running often enough`, expected: maxRpo, found: r.rpoMs });
  }
  if (maxRto !== undefined) {
    if (r.rtoMs === null) out.push({ name: 'rto', status: 'skip', detail: 'the restore did not run' });
    else out.push(r.rtoMs <= maxRto
      ? { name: 'rto', status: 'pass', detail: `restore took ${formatDuration(r.rtoMs)} (limit ${formatDuration(maxRto)})` }
      : { name: 'rto', status: 'fail', detail: `restore took ${formatDuration(r.rtoMs)}, over the limit of ${formatDuration(maxRto)}`, expected: maxRto, found: r.rtoMs });
  }
  return out;
}
