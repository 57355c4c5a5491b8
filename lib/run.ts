import { loadTargetConfig } from './config.ts';
import { ExitCode, PgopsError, messageOf, type ExitCodeValue } from './errors.ts';
import { createLogger, type LogFormat, type TextSink } from './log.ts';
import { resolveOptions, type TaskName } from './options.ts';
import { redact, redactDeep } from './redact.ts';
import { signalEnd, signalStart } from './signals/index.ts';
import type { TaskContext, TaskHandler } from './task.ts';

// The database name in --db (a URL or a name), to tell runs of one task apart in metrics and state.
function instanceOf(db: unknown): string {
  if (typeof db !== 'string' || !db) return '';
  try {
    return db.includes('://') ? decodeURIComponent(new URL(db).pathname.replace(/^\//, '')) : db;
  } catch {
    return '';
  }
}

export interface RunIO {
  env?: NodeJS.ProcessEnv;
  stdout?: TextSink;
  stderr?: TextSink;
  now?: () => Date;
  cwd?: string;
}

// Runs one task: resolves options, calls the handler, prints the result; returns the exit code (only bin/ exits).
export async function runTask(task: TaskName, handler: () => Promise<TaskHandler>, flags: Record<string, unknown>, io: RunIO = {}, positionals: string[] = []): Promise<ExitCodeValue> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const json = flags.json === true || ['1', 'true'].includes(String(env.PGOPS_JSON));
  const logFormat = (flags['log-format'] ?? env.PGOPS_LOG_FORMAT) as LogFormat | undefined;
  const log = createLogger({ task, format: logFormat === 'json' || logFormat === 'human' ? logFormat : undefined, stream: stderr, verbose: Boolean(flags.verbose) });
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    log.warn('signal', `received ${sig}: stopping and cleaning up`);
    controller.abort(new PgopsError(`interrupted by ${sig}`, { code: ExitCode.FAILED, hint: 'nothing was committed; run the task again' }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const startedAt = new Date();
  let values: Record<string, unknown> | undefined;
  let instance = '';
  const finish = async (exitCode: ExitCodeValue, summary: string, data?: unknown) => {
    if (!values) return exitCode;
    const bytes = (data as { bytes?: unknown } | undefined)?.bytes;
    await signalEnd({ task, instance, exitCode, startedAt, finishedAt: new Date(), summary, bytes: typeof bytes === 'number' ? bytes : undefined }, values, log, env);
    return exitCode;
  };
  try {
    // a drill's --target may be a server URL rather than a config target's name
    const target = (flags.target as string | undefined) ?? env.PGOPS_TARGET;
    const config = loadTargetConfig(flags.config as string | undefined, target && !target.includes('://') ? target : undefined, io.cwd);
    values = resolveOptions(task, flags, env, config).values;
    instance = target && !target.includes('://') ? target : instanceOf(values.db);
    await signalStart(values, log);
    const args = Object.fromEntries(positionals.filter((p) => flags[p] !== undefined).map((p) => [p, String(flags[p])]));
    const ctx: TaskContext = { options: values, args, log, signal: controller.signal, env, now: io.now ?? (() => new Date()) };
    const result = await (await handler())(ctx);
    stdout.write(json ? JSON.stringify(redactDeep(result.data), null, 2) + '\n' : result.summary ? redact(result.summary) + '\n' : '');
    return await finish(result.exitCode, result.summary, result.data);
  } catch (err) {
    const e = err instanceof PgopsError ? err : new PgopsError(messageOf(err), { code: ExitCode.FAILED, cause: err });
    log.error('failed', e.message, { hint: e.hint, exitCode: e.code, ...(e.cause && !(err instanceof PgopsError) ? { stack: (err as Error).stack } : {}) });
    if (json) stdout.write(JSON.stringify(redactDeep({ ok: false, exitCode: e.code, error: e.message, hint: e.hint ?? null }), null, 2) + '\n');
    return await finish(e.code, `${e.message}${e.hint ? `\nHINT: ${e.hint}` : ''}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
