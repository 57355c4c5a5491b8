import { parseArgs } from 'node:util';

export type Fingerprint = 'count' | 'hash' | 'none';

/** pgbench -i (compresses about 55:1), or bench/lib/pitr-data.ts's generated data (a few times, like production's) */
export type BackupDataset = 'pgbench' | 'realistic';

export interface BenchOptions {
  dataset: BackupDataset;
  /** pgbench scales to run the whole benchmark at, in order (the pgbench dataset) */
  scales: number[];
  /** the size the realistic dataset's database grows to, in MB */
  sizeMb: number;
  rounds: number;
  fingerprint: Fingerprint;
}

export const USAGE = `usage: npm run bench:backup [-- options]

  --dataset NAME       pgbench (default): pgbench -i, whose dump compresses about 55:1; or realistic: the
                       generated data of bench:pitr (bench/lib/pitr-data.ts: text, jsonb, numeric, uuid), which
                       compresses a few times, as production data does: what pgops does per byte of dump shows
  --scale N            pgbench scale of the benchmark database (default 50: about 750 MB)
  --scales N,M,...     run the whole benchmark at each scale and report how pgops's peak RSS grows
  --size-mb N          realistic only: the database grows to at least this size, in MB (default 300)
  --rounds N           interleaved rounds; every operation runs once per round (default 4: each of the four
                       backups, rotated by one place a round, then runs once in every place)
  --fingerprint MODE   count, hash or none, passed to pgops backup (default count)
  --help               this text`;

export class ArgsError extends Error {}

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < 1) throw new ArgsError(`invalid --${flag} "${text}": expected a whole number of at least 1`);
  return n;
}

// A benchmark's options, each taking a value, plus --help: undefined for --help, an ArgsError for anything else.
function stringOptions(argv: string[], names: string[]): Record<string, string | undefined> | undefined {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const name of names) options[name] = { type: 'string' };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options }));
  } catch (err) {
    throw new ArgsError((err as Error).message);
  }
  if (values.help) return undefined;
  return values as Record<string, string | undefined>;
}

// Parses the benchmark's own options; throws ArgsError naming the expected and the given value. Undefined for --help.
export function parseBenchArgs(argv: string[]): BenchOptions | undefined {
  const values = stringOptions(argv, ['dataset', 'scale', 'scales', 'size-mb', 'rounds', 'fingerprint']);
  if (!values) return undefined;
  const dataset = values.dataset ?? 'pgbench';
  if (dataset !== 'pgbench' && dataset !== 'realistic') throw new ArgsError(`invalid --dataset "${dataset}": expected pgbench or realistic`);
  if (dataset === 'realistic' && (values.scale !== undefined || values.scales !== undefined)) throw new ArgsError('--scale and --scales are for the pgbench dataset only; the realistic one takes --size-mb');
  if (dataset === 'pgbench' && values['size-mb'] !== undefined) throw new ArgsError('--size-mb is for the realistic dataset only (--dataset realistic); pgbench takes --scale');
  if (values.scale !== undefined && values.scales !== undefined) throw new ArgsError('give --scale or --scales, not both');
  const scales = values.scales !== undefined ? values.scales.split(',').map((s) => positiveInt('scales', s)) : [positiveInt('scale', values.scale ?? '50')];
  const fingerprint = values.fingerprint ?? 'count';
  if (!['count', 'hash', 'none'].includes(fingerprint)) throw new ArgsError(`invalid --fingerprint "${fingerprint}": expected one of count, hash, none`);
  return { dataset, scales, sizeMb: positiveInt('size-mb', values['size-mb'] ?? '300'), rounds: positiveInt('rounds', values.rounds ?? '4'), fingerprint: fingerprint as Fingerprint };
}

export type DrillDataset = 'pgbench' | 'regression';

export interface DrillBenchOptions {
  dataset: DrillDataset;
  scale: number;
  rounds: number;
}

export const DRILL_USAGE = `usage: npm run bench:drill [-- options]

  --dataset NAME   pgbench (default) or regression: PostgreSQL's own regression database (test/corpus, built
                   and cached by test/corpus/regression/build.sh)
  --scale N        pgbench scale of the source database (default 50: about 750 MB)
  --rounds N       interleaved rounds; every operation runs once per round (default 3)
  --help           this text`;

// Parses bench:drill's options; throws ArgsError naming the expected and the given value. Undefined for --help.
export function parseDrillArgs(argv: string[]): DrillBenchOptions | undefined {
  const values = stringOptions(argv, ['dataset', 'scale', 'rounds']);
  if (!values) return undefined;
  const dataset = values.dataset ?? 'pgbench';
  if (dataset !== 'pgbench' && dataset !== 'regression') throw new ArgsError(`invalid --dataset "${dataset}": expected pgbench or regression`);
  if (dataset === 'regression' && values.scale !== undefined) throw new ArgsError('--scale is for the pgbench dataset only');
  return { dataset, scale: positiveInt('scale', values.scale ?? '50'), rounds: positiveInt('rounds', values.rounds ?? '3') };
}

export interface WalBenchOptions {
  segments: number;
  rounds: number;
}

export const WAL_USAGE = `usage: npm run bench:wal [-- options]

  --segments N   distinct 16 MB WAL segments pushed by every tool in each round (default 24)
  --rounds N     rounds; each round pushes every segment with every tool into fresh repositories (default 2)
  --help         this text

Needs the PostgreSQL 15 server programs (initdb, pg_ctl, pg_config on PATH) and pgBackRest (Debian/Ubuntu:
apt-get install pgbackrest; run as root, the benchmark installs it itself when apt-get is there).`;

// Parses bench:wal's options; throws ArgsError naming the expected and the given value. Undefined for --help.
export function parseWalArgs(argv: string[]): WalBenchOptions | undefined {
  const values = stringOptions(argv, ['segments', 'rounds']);
  if (!values) return undefined;
  return { segments: positiveInt('segments', values.segments ?? '24'), rounds: positiveInt('rounds', values.rounds ?? '2') };
}
