import { parseArgs } from 'node:util';

export type Fingerprint = 'count' | 'hash' | 'none';

export interface BenchOptions {
  /** pgbench scales to run the whole benchmark at, in order */
  scales: number[];
  rounds: number;
  fingerprint: Fingerprint;
}

export const USAGE = `usage: npm run bench:backup [-- options]

  --scale N            pgbench scale of the benchmark database (default 50: about 750 MB)
  --scales N,M,...     run the whole benchmark at each scale and report how pgops's peak RSS grows
  --rounds N           interleaved rounds; every operation runs once per round (default 3)
  --fingerprint MODE   count, hash or none, passed to pgops backup (default count)
  --help               this text`;

export class ArgsError extends Error {}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < 1) throw new ArgsError(`invalid --${flag} "${text}": expected a whole number of at least 1`);
  return n;
}

// Parses the benchmark's own options; throws ArgsError naming the expected and the given value. Undefined for --help.
export function parseBenchArgs(argv: string[]): BenchOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        scale: { type: 'string' },
        scales: { type: 'string' },
        rounds: { type: 'string' },
        fingerprint: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    throw new ArgsError((err as Error).message);
  }
  if (values.help) return undefined;
  if (values.scale !== undefined && values.scales !== undefined) throw new ArgsError('give --scale or --scales, not both');
  const scales = values.scales !== undefined ? values.scales.split(',').map((s) => positiveInt('scales', s)) : [positiveInt('scale', values.scale ?? '50')];
  const fingerprint = values.fingerprint ?? 'count';
  if (!['count', 'hash', 'none'].includes(fingerprint)) throw new ArgsError(`invalid --fingerprint "${fingerprint}": expected one of count, hash, none`);
  return { scales, rounds: positiveInt('rounds', values.rounds ?? '3'), fingerprint: fingerprint as Fingerprint };
}

export interface DrillBenchOptions {
  scale: number;
  rounds: number;
}

export const DRILL_USAGE = `usage: npm run bench:drill [-- options]

  --scale N    pgbench scale of the source database (default 50: about 750 MB)
  --rounds N   interleaved rounds; every operation runs once per round (default 3)
  --help       this text`;

// Parses bench:drill's options; throws ArgsError naming the expected and the given value. Undefined for --help.
export function parseDrillArgs(argv: string[]): DrillBenchOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { scale: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (err) {
    throw new ArgsError((err as Error).message);
  }
  if (values.help) return undefined;
  return { scale: positiveInt('scale', values.scale ?? '50'), rounds: positiveInt('rounds', values.rounds ?? '3') };
}
