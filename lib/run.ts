import { loadTargetConfig } from './config.ts';
import { ExitCode, PgopsError, messageOf, type ExitCodeValue } from './errors.ts';
import { watchInterrupts } from './interrupt.ts';
import { createLogger, type LogFormat, type TextSink } from './log.ts';
import { resolveOptions, type TaskName } from './options.ts';
import { redact, redactDeep } from './redact.ts';
import { signalEnd, signalStart } from './signals/index.ts';
import type { TaskGauges } from './signals/outcome.ts';
import type { AnyTaskHandler, TaskContext } from './task.ts';

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
export async function runTask(task: TaskName, handler: () => Promise<AnyTaskHandler>, flags: Record<string, unknown>, io: RunIO = {}, positionals: string[] = []): Promise<ExitCodeValue> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const json = flags.json === true || ['1', 'true'].includes(String(env.PGOPS_JSON));
  const logFormat = (flags['log-format'] ?? env.PGOPS_LOG_FORMAT) as LogFormat | undefined;
  const log = createLogger({ task, format: logFormat === 'json' || logFormat === 'human' ? logFormat : undefined, stream: stderr, verbose: Boolean(flags.verbose) });
  // SIGTERM and SIGINT stop a task at any point: the first aborts ctx.signal; a second, or the grace running out,
  // abandons the run (interrupt.ts) and the top level exits with whatever was still running left behind
  const interrupt = watchInterrupts(task, log);
  const startedAt = new Date();
  let values: Record<string, unknown> | undefined;
  let instance = '';
  const finish = async (exitCode: ExitCodeValue, summary: string, data?: unknown, gauges?: TaskGauges) => {
    if (!values) return exitCode;
    const bytes = (data as { bytes?: unknown } | undefined)?.bytes;
    await signalEnd({ task, instance, exitCode, startedAt, finishedAt: new Date(), summary, bytes: typeof bytes === 'number' ? bytes : undefined, gauges }, values, log, env);
    return exitCode;
  };
  let abandoned = false;
  const work = async () => {
    // a drill's --target may be a server URL rather than a config target's name
    const target = (flags.target as string | undefined) ?? env.PGOPS_TARGET;
    const config = loadTargetConfig(flags.config as string | undefined, target && !target.includes('://') ? target : undefined, io.cwd);
    values = resolveOptions(task, flags, env, config).values;
    instance = target && !target.includes('://') ? target : instanceOf(values.db);
    // a signal that came while the config was read (synchronous) stops the run before its first step
    interrupt.signal.throwIfAborted();
    await signalStart(values, log);
    interrupt.signal.throwIfAborted();
    const args = Object.fromEntries(positionals.filter((p) => flags[p] !== undefined).map((p) => [p, String(flags[p])]));
    const ctx: TaskContext = { options: values as TaskContext['options'], args, log, signal: interrupt.signal, env, now: io.now ?? (() => new Date()) };
    return (await handler())(ctx as never);
  };
  try {
    const result = await Promise.race([work(), interrupt.abandoned.catch((err) => {
      abandoned = true;
      throw err;
    })]);
    stdout.write(json ? JSON.stringify(redactDeep(result.data), null, 2) + '\n' : result.summary ? redact(result.summary) + '\n' : '');
    return await finish(result.exitCode, result.summary, result.data, result.gauges);
  } catch (err) {
    // an error no step named (a bug, or a library's error nobody mapped yet): one line, its stack only with --verbose,
    // since archive_command's and restore_command's stderr goes into PostgreSQL's log
    const e = err instanceof PgopsError ? err : new PgopsError(messageOf(err), { code: ExitCode.FAILED, cause: err, hint: flags.verbose ? undefined : 'an unexpected error: run the command again with --verbose for its stack trace, and report it' });
    log.error('failed', e.message, { hint: e.hint, exitCode: e.code, ...(flags.verbose && !(err instanceof PgopsError) ? { stack: (err as Error).stack } : {}) });
    if (json) stdout.write(JSON.stringify(redactDeep({ ok: false, exitCode: e.code, error: e.message, hint: e.hint ?? null }), null, 2) + '\n');
    // an abandoned run exits at once: the metrics, pings and webhook could wait as long again
    return abandoned ? e.code : await finish(e.code, `${e.message}${e.hint ? `\nHINT: ${e.hint}` : ''}`);
  } finally {
    interrupt.dispose();
  }
}
