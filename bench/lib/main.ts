import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgsError } from './args.ts';
import { Cleanups } from './cleanup.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RESULTS = path.join(ROOT, 'bench/results');

// Progress and warnings go to stderr; stdout holds the results table.
export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export interface BenchmarkSpec<O> {
  usage: string;
  /** the benchmark's own options; undefined for --help; throws ArgsError for a bad one */
  parse(argv: string[]): O | undefined;
  /** the measurement: prints its table and returns the results files it wrote */
  run(opts: O, cleanups: Cleanups): Promise<{ json: string; markdown: string }>;
}

// The frame every benchmark shares: its options (usage for --help, exit 3 with the usage for a bad option), the run
// with its clean-ups done whatever happens (exit 2 when it failed), the results files named at the end, and an exit
// once stdout is flushed (pg pools and sockets of the harness must not keep the process alive). A missed target is
// printed by the run, never turned into an exit code: a benchmark is a measurement, not a test.
export async function runBenchmark<O>(argv: string[], spec: BenchmarkSpec<O>): Promise<void> {
  const code = await exitCodeOf(argv, spec);
  process.stdout.write('', () => process.exit(code));
}

async function exitCodeOf<O>(argv: string[], spec: BenchmarkSpec<O>): Promise<number> {
  let opts: O | undefined;
  try {
    opts = spec.parse(argv);
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err;
    log(`${err.message}\n\n${spec.usage}`);
    return 3;
  }
  if (!opts) {
    process.stdout.write(spec.usage + '\n');
    return 0;
  }
  const cleanups = new Cleanups();
  try {
    const files = await spec.run(opts, cleanups);
    process.stdout.write(`results: ${path.relative(ROOT, files.json)}, ${path.relative(ROOT, files.markdown)}\n`);
    return 0;
  } catch (err) {
    log(`benchmark failed: ${(err as Error).message}`);
    return 2;
  } finally {
    await cleanups.run();
  }
}
