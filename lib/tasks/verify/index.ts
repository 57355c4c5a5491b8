import { LEVEL_NAMES, worstFirst } from '../../check/level.ts';
import { checkWithin } from '../../check/deadline.ts';
import { checkResult } from '../../check/result.ts';
import { ExitCode, messageOf, PgopsError } from '../../errors.ts';
import { databaseNameOf } from '../../pg/database-name.ts';
import { notARepository, parseIdentity, REPO_FILE, REPO_VERSION, type RepoIdentity } from '../../repo/identity.ts';
import { setPrefix } from '../../repo/layout.ts';
import { openRepo } from '../../repo/open.ts';
import { NotFoundError, type Repo } from '../../repo/repo.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { runChecks } from './checks.ts';
import { countProblems, gradeVerify, type Finding, type VerifyCounts } from './grade.ts';
import { planVerify, type VerifyPlan } from './plan.ts';
import { judgeWal, type WalArchiveReport } from './wal-continuity.ts';

// What pgops-repo.json says, as a finding: verify is a reader, so a location without one is verified all the same.
// A read that fails (the store is down) is not a finding: it propagates, and verify is UNKNOWN.
async function identityFinding(repo: Repo): Promise<{ present: boolean; version: number | null; finding: Finding }> {
  let bytes: Buffer;
  try {
    bytes = await repo.getBytes(REPO_FILE);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    return { present: false, version: null, finding: { level: 0, kind: 'repository', key: REPO_FILE, text: `${repo.url} has no ${REPO_FILE}: verified all the same (verify only reads), but writers refuse it until pgops repo init --repo ${repo.url} adopts it` } };
  }
  let identity: RepoIdentity;
  try {
    identity = parseIdentity(bytes, `${repo.url.replace(/\/$/, '')}/${REPO_FILE}`);
  } catch (err) {
    return { present: true, version: null, finding: { level: 2, kind: 'repository', key: REPO_FILE, text: `${messageOf(err)}: every writer refuses the repository` } };
  }
  if (identity.version > REPO_VERSION) {
    return { present: true, version: identity.version, finding: { level: 3, kind: 'repository', key: REPO_FILE, text: `${REPO_FILE} has format version ${identity.version}, newer than this pgops reads (${REPO_VERSION}): upgrade pgops to verify it` } };
  }
  return { present: true, version: identity.version, finding: { level: 0, kind: 'repository', key: REPO_FILE, text: `${REPO_FILE}: format ${identity.version}, created ${identity.createdAt}` } };
}

// One line per set, for the JSON: its status and how many of the findings are about it.
function setSummaries(plan: VerifyPlan, findings: readonly Finding[]) {
  return plan.sets.map((s) => {
    const prefix = setPrefix(s.database, s.id);
    const problems = findings.filter((f) => f.level !== 0 && f.key?.startsWith(prefix)).length;
    return { database: s.database, backupId: s.id, status: s.status, files: s.manifest?.files.length ?? null, problems };
  });
}

// An OK line for each set whose listed files all matched.
function setNotes(plan: VerifyPlan, findings: readonly Finding[]): Finding[] {
  return plan.sets.flatMap((s) => {
    const prefix = setPrefix(s.database, s.id);
    if (!s.manifest || findings.some((f) => f.key?.startsWith(prefix))) return [];
    return [{ level: 0, kind: 'ok', key: prefix, text: `${prefix}: ${s.manifest.files.length} files match the manifest (${s.manifest.pgDump.format} format)` } satisfies Finding];
  });
}

// pgops verify: re-reads every file of every set and every archived WAL file against its manifest or sidecar, and
// the WAL's continuity, without restoring anything; a Nagios check whose exit code says what it found.
export const verify: TaskHandler<'verify'> = async (ctx) => {
  const o = ctx.options;
  const started = performance.now();
  // no limit unless --timeout is given: verify reads the whole repository, which takes longer than a monitor waits
  return checkWithin('VERIFY', ctx, o.timeout, async (deadline) => {
    let repo: Repo | undefined;
    try {
      repo = await openRepo(o.repo, o, ctx.log, { reads: o.deep });
      return await verifyRepository(ctx, repo, deadline.signal, started);
    } finally {
      await repo?.close();
    }
  }, { findings: [] });
};

// Plans, reads and grades; the repository is open.
async function verifyRepository(ctx: TaskContext<'verify'>, repo: Repo, signal: AbortSignal, started: number): Promise<TaskResult> {
  const o = ctx.options;
  const database = databaseNameOf(o.db);
  const identity = await identityFinding(repo);
  const plan = await planVerify(repo, { database, now: ctx.now() });
  if (database !== undefined && plan.sets.length === 0) {
    throw new PgopsError(`no backup set of database "${database}" in ${repo.url}`, { code: ExitCode.UNKNOWN, hint: 'check --db for a typo: pgops backups list shows the databases the repository holds' });
  }
  if (!identity.present && plan.sets.length === 0 && plan.systems.length === 0 && plan.findings.length === 0) {
    throw notARepository(repo.url, 'everything', 'check --repo for a typo (pgops repo info shows what a location holds)');
  }
  const parallel = o.parallel;
  ctx.log.info('verify', `reading ${plan.items.length} files of ${plan.sets.length} set(s) and ${plan.systems.length} WAL archive(s) in ${repo.url}, ${parallel} at a time`);
  const results = await runChecks(repo, plan.items, { parallel, signal, log: ctx.log });
  const wal: WalArchiveReport[] = [];
  const walFindings: Finding[] = [];
  for (const system of plan.systems) {
    signal.throwIfAborted();
    const judged = await judgeWal(repo, system, results.segmentSizes.get(system.systemId), ctx.now());
    wal.push(judged.report);
    walFindings.push(...judged.findings);
  }
  const problems = [...plan.findings, ...results.findings];
  // parallel reads finish in any order: sorted by key, the output is the same from run to run
  const findings = worstFirst([identity.finding, ...problems, ...setNotes(plan, problems), ...walFindings].sort((a, b) => (a.key ?? '').localeCompare(b.key ?? '')));
  const seconds = (performance.now() - started) / 1000;
  const counts: VerifyCounts = {
    sets: plan.sets.length,
    walSystems: plan.systems.length,
    files: plan.listed,
    bytes: results.bytes,
    ...countProblems(findings),
    missingSegments: wal.reduce((n, w) => n + (w.continuity?.missingCount ?? 0), 0),
  };
  const continuous = wal.filter((w) => w.continuity && !w.continuity.missingCount).map((w) => `WAL of system ${w.systemIdentifier} continuous from ${w.continuity!.first} to ${w.continuity!.last}`);
  const graded = gradeVerify(findings, counts, seconds, continuous.join('; ') || undefined);
  const data = {
    repo: repo.url,
    database: database ?? null,
    identity: { present: identity.present, version: identity.version },
    // the run's metrics export these (lib/notify/metric-list.ts): pgops_verify_files, _damaged, _missing, ...
    counts: { ...counts, seconds: Math.round(seconds * 10) / 10 },
    findings: findings.map((f) => ({ level: LEVEL_NAMES[f.level], kind: f.kind, key: f.key ?? null, text: f.text })),
    sets: setSummaries(plan, problems),
    wal,
    // the bytes read: the run's metrics export them as pgops_last_bytes
    bytes: counts.bytes,
  };
  return checkResult(graded.level, graded.line, data, { summary: graded.lines.join('\n'), runbook: graded.runbook });
}
