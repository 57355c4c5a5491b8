import { parseArgs } from 'node:util';
import { ArgsError } from './args.ts';

export interface PitrBenchOptions {
  rounds: number;
  /** size the generated database grows to before the backups, in MB */
  sizeMb: number;
  /** WAL the workload after the base backups writes (and every recovery replays), in MB */
  walMb: number;
}

export const PITR_USAGE = `usage: npm run bench:pitr [-- options]

  --rounds N    interleaved rounds of the backups, then of the recoveries (default 5: on a VM, one
                command's time varies by up to 1.5x between rounds)
  --size MB     the generated database (accounts, events: text, jsonb, numeric, uuid; it compresses about
                like production data, not like pgbench) grows to this size before the backups (default 1024;
                on a few hundred MB, fixed costs such as node's start-up weigh as they do not in production)
  --wal-mb MB   WAL the workload writes after the base backups; every recovery replays it (default 256)
  --help        this text

Needs the PostgreSQL 15 server programs (initdb, pg_ctl, pg_config on PATH), pgBackRest (Debian/Ubuntu: apt-get
install pgbackrest; run as root, the benchmark installs it itself when apt-get is there), and root or the postgres
OS user's rights: pgBackRest and the recovered servers run as postgres.`;

function wholeNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min) throw new ArgsError(`invalid --${flag} "${text}": expected a whole number of at least ${min}`);
  return n;
}

// Parses bench:pitr's options; throws ArgsError naming the expected and the given value. Undefined for --help.
export function parsePitrArgs(argv: string[]): PitrBenchOptions | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { help: { type: 'boolean' }, rounds: { type: 'string' }, size: { type: 'string' }, 'wal-mb': { type: 'string' } } }));
  } catch (err) {
    throw new ArgsError((err as Error).message);
  }
  if (values.help) return undefined;
  const text = (k: string, d: string) => (values[k] as string | undefined) ?? d;
  return { rounds: wholeNumber('rounds', text('rounds', '5'), 1), sizeMb: wholeNumber('size', text('size', '1024'), 16), walMb: wholeNumber('wal-mb', text('wal-mb', '256'), 16) };
}
