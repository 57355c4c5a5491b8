import { readTargetConfig, type TargetConfig } from '../config.ts';
import { processTerminal, type Terminal } from '../confirm.ts';
import { ExitCode, PgopsError, messageOf, type ExitCodeValue } from '../errors.ts';
import { watchInterrupts } from '../interrupt.ts';
import { createLogger, type Logger, type LogFormat, type TextSink } from '../log.ts';
import { notifyEnd, notifyStart, type NotifyOptions } from '../notify/index.ts';
import { databaseNameOf } from '../pg/database-name.ts';
import type { TaskGauges } from '../notify/outcome.ts';
import { resolveOptions, type OptionsOf, type TaskName } from '../options.ts';
import { redact, redactDeep } from '../redact.ts';
import type { AnyTaskHandler, TaskContext } from '../task.ts';
import { errorEnvelope, resultEnvelope } from './json-envelope.ts';

// The database name in --db (a connection string in any of libpq's forms, or a name), to tell runs of one task apart
// in metrics and state.
function databaseLabelOf(db: unknown, env: NodeJS.ProcessEnv): string {
  try {
    return databaseNameOf(db, env) ?? '';
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
  /** where a destructive step asks (default: this process's terminal, when stdin and stderr are TTYs and stderr is not replaced) */
  terminal?: Terminal;
}

// How a run prints: --json, --log-format and --verbose, which every task takes.
type OutputOptions = Pick<OptionsOf<TaskName>, 'json' | 'logFormat' | 'verbose'>;

// The values of recover's --target that name a recovery target, not a config target.
export const RECOVERY_TARGETS: readonly string[] = ['immediate', 'latest'];

// The task's options resolved (flags > environment > config target > defaults), or why they cannot be.
function resolveRun(task: TaskName, flags: Record<string, unknown>, env: NodeJS.ProcessEnv, cwd: string | undefined): { options: OptionsOf<TaskName>; target: string; config: TargetConfig } | { error: unknown } {
  try {
    // a drill's --target may be a server URL, recover's a recovery target (immediate, latest), rather than a config
    // target's name
    const target = (flags.target as string | undefined) ?? env.PGOPS_TARGET;
    const named = target && !target.includes('://') && !(task === 'recover' && RECOVERY_TARGETS.includes(target)) ? target : undefined;
    const config = readTargetConfig(flags.config as string | undefined, named, { cwd, env });
    const options = resolveOptions(task, flags, env, config.values).values as OptionsOf<TaskName>;
    return { options, target: named ?? databaseLabelOf((options as { db?: unknown }).db, env), config };
  } catch (error) {
    return { error };
  }
}

// --json, --log-format and --verbose from what can be read of them when the options as a whole cannot be resolved
// (a bad value elsewhere, an unreadable config file): each from its flag or variable, when valid.
function outputFallback(task: TaskName, flags: Record<string, unknown>, env: NodeJS.ProcessEnv): OutputOptions {
  const out = { json: false, verbose: false } as OutputOptions;
  for (const flag of ['json', 'log-format', 'verbose']) {
    try {
      Object.assign(out, resolveOptions(task, flags, env, {}, [flag]).values);
    } catch {
      // an invalid value of its own: the default
    }
  }
  return out;
}

// Runs one task: resolves its options, calls the handler, prints the result, notifies; returns the exit code.
export async function runTask(task: TaskName, handler: () => Promise<AnyTaskHandler>, flags: Record<string, unknown>, io: RunIO = {}, positionals: string[] = []): Promise<ExitCodeValue> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  // options first: how the run prints is an option like any other, from a flag, a variable or the config file
  const resolved = resolveRun(task, flags, env, io.cwd);
  const options = 'options' in resolved ? resolved.options : undefined;
  const output: OutputOptions = options ?? outputFallback(task, flags, env);
  // the summary goes to stdout: on one terminal with the log, the task's 'done' line would say it a second time
  const quietOnTerminal = stdout.isTTY && !output.json ? ['done'] : undefined;
  const log: Logger = createLogger({ task, format: output.logFormat as LogFormat | undefined, stream: stderr, verbose: output.verbose, env, quietOnTerminal });
  // only when asked: an entry, even unprinted, would be the "last step" an abandoned run names (lib/interrupt.ts)
  if ('config' in resolved && output.verbose) {
    const { file, searched } = resolved.config;
    log.debug('config', file ? `config file ${file}` : `no config file (looked for ${searched.join(', ')})`, { file: file ?? null });
  }
  // SIGTERM and SIGINT stop a task at any point: the first aborts ctx.signal; a second, or the grace running out,
  // abandons the run (interrupt.ts) and the top level exits with whatever was still running left behind
  const interrupt = watchInterrupts(task, log);
  const startedAt = new Date();
  const finish = async (exitCode: ExitCodeValue, summary: string, data?: unknown, gauges?: TaskGauges) => {
    if (!options) return exitCode;
    // the config target, else the database: the label target of the run's metrics, which read the result's data
    const target = 'target' in resolved ? resolved.target : '';
    await notifyEnd({ task, target, exitCode, startedAt, finishedAt: new Date(), summary, data, gauges }, options as NotifyOptions, log, env);
    return exitCode;
  };
  let abandoned = false;
  const work = async () => {
    if ('error' in resolved) throw resolved.error;
    // a signal that came while the config was read (synchronous) stops the run before its first step
    interrupt.signal.throwIfAborted();
    await notifyStart(options as NotifyOptions, log);
    interrupt.signal.throwIfAborted();
    const args = Object.fromEntries(positionals.filter((p) => flags[p] !== undefined).map((p) => [p, String(flags[p])]));
    const ctx: TaskContext = { options: options as TaskContext['options'], args, log, signal: interrupt.signal, env,
      now: io.now ?? (() => new Date()),
      // looked at only when a destructive step asks
      get terminal() {
        return io.terminal ?? (io.stderr ? undefined : processTerminal());
      },
    };
    return (await handler())(ctx as never);
  };
  try {
    const result = await Promise.race([work(), interrupt.abandoned.catch((err) => {
      abandoned = true;
      throw err;
    })]);
    stdout.write(output.json ? JSON.stringify(redactDeep(resultEnvelope(task, result.exitCode, result.data)), null, 2) + '\n' : result.summary ? redact(result.summary) + '\n' : '');
    return await finish(result.exitCode, result.summary, result.data, result.gauges);
  } catch (err) {
    // an error no step named (a bug, or a library's error nobody mapped yet): one line, its stack only with --verbose,
    // since archive_command's and restore_command's stderr goes into PostgreSQL's log
    const e = err instanceof PgopsError ? err : new PgopsError(messageOf(err), { code: ExitCode.FAILED, cause: err, hint: output.verbose ? undefined : 'an unexpected error: run the command again with --verbose for its stack trace, and report it' });
    log.error('failed', e.message, { hint: e.hint, exitCode: e.code, ...(output.verbose && !(err instanceof PgopsError) ? { stack: (err as Error).stack } : {}) });
    if (output.json) stdout.write(JSON.stringify(redactDeep(errorEnvelope(task, e.code, e.message, e.hint)), null, 2) + '\n');
    // an abandoned run exits at once: the metrics, pings and webhook could wait as long again
    return abandoned ? e.code : await finish(e.code, `${e.message}${e.hint ? `\nHINT: ${e.hint}` : ''}`);
  } finally {
    interrupt.dispose();
  }
}
