import { PassThrough, type Readable } from 'node:stream';
import { execa, type Options, type ResultPromise } from 'execa';
import { ExitCode, PgopsError } from '../errors.ts';
import { redact } from '../redact.ts';

export interface ToolCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** what the command is, for messages: "pg_dump", "pg_restore of 20261122T031700Z" */
  what: string;
  hint?: string;
  input?: string;
  /** resolve with stdout instead of stderr (small outputs only) */
  capture?: boolean;
  /** exit codes that count as success (default: 0) */
  okExitCodes?: number[];
}

const STDERR_KEEP = 64 * 1024;

function spawn(cmd: ToolCommand, stdout: 'pipe' | 'ignore'): ResultPromise {
  const options: Options = {
    env: cmd.env,
    extendEnv: false,
    buffer: false,
    stdout,
    stderr: 'pipe',
    stdin: cmd.input !== undefined ? 'pipe' : 'ignore',
    input: cmd.input,
    cancelSignal: cmd.signal,
    forceKillAfterDelay: 5000,
    reject: false,
  };
  return execa(cmd.file, cmd.args, options) as unknown as ResultPromise;
}

// Keeps the tail of a child's stderr, for the error message.
function collectStderr(child: ResultPromise): () => string {
  let text = '';
  child.stderr?.on('data', (d: Buffer) => {
    text = (text + d.toString('utf8')).slice(-STDERR_KEEP);
  });
  return () => text.trim();
}

async function outcome(child: ResultPromise, stderr: () => string, cmd: ToolCommand): Promise<string> {
  const result = (await child) as unknown as { exitCode?: number; signal?: string; isCanceled?: boolean; failed: boolean; message?: string };
  if (!result.failed || (result.exitCode !== undefined && cmd.okExitCodes?.includes(result.exitCode))) return stderr();
  if (cmd.signal?.aborted) throw cmd.signal.reason instanceof Error ? cmd.signal.reason : new PgopsError(`${cmd.what} interrupted`);
  const why = result.signal ? `was killed by ${result.signal}` : result.exitCode !== undefined ? `exited with code ${result.exitCode}` : `could not run (${result.message})`;
  const tail = stderr().split('\n').slice(-12).join('\n');
  throw new PgopsError(redact(`${cmd.what} ${why}${tail ? `:\n${tail}` : ''}`), { code: ExitCode.FAILED, hint: cmd.hint });
}

// Runs a PostgreSQL program to its end; rejects with its stderr when it fails. Resolves with its stderr (warnings).
export async function execPgTool(cmd: ToolCommand): Promise<string> {
  const child = spawn(cmd, cmd.capture ? 'pipe' : 'ignore');
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const stderr = await outcome(child, collectStderr(child), cmd);
  return cmd.capture ? out : stderr;
}

// Streams a program's stdout. The stream ends only once the program exited 0; any failure errors the stream,
// so a consumer never commits output that a failed program cut short. `done` settles with the same outcome.
export function streamPgTool(cmd: ToolCommand): { stdout: Readable; done: Promise<void>; pid: number | undefined } {
  const child = spawn(cmd, 'pipe');
  const stderr = collectStderr(child);
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  child.stdout!.pipe(out, { end: false });
  const done = outcome(child, stderr, cmd).then(
    () => {
      out.end();
    },
    (err: Error) => {
      out.destroy(err);
      throw err;
    },
  );
  done.catch(() => {});
  // the failure reaches the caller through done; a consumer that already stopped reading (aborted by the same
  // SIGTERM that killed the program) has no listener left, and the stream's error must not crash the process then
  out.on('error', () => {});
  // the consumer gave up (storage failed): stop the program so it does not run on
  out.on('close', () => {
    if (child.exitCode === null && !child.killed) child.kill('SIGTERM');
  });
  return { stdout: out, done, pid: child.pid };
}
