import { installWarningHandler } from './log.ts';

// The process entry of the pgops bin: run one command, flush stdout, exit with its code
// (pools and keep-alive sockets must not keep a cron job alive).
// `wal push` and `wal fetch` run once per WAL segment as archive_command and restore_command: they start through
// their own entry, which skips yargs and the full CLI (lib/tasks/wal/entry.ts); anything it cannot parse falls through.
export async function run(argv: string[]): Promise<void> {
  installWarningHandler();
  let code: number | undefined;
  if (argv[0] === 'wal' && (argv[1] === 'push' || argv[1] === 'fetch')) code = await (await import('./tasks/wal/entry.ts')).runWal(argv);
  if (code === undefined) {
    code = await (await import('./cli.ts')).main(argv);
    // a wal fetch command line only the full CLI could parse (and refused): PostgreSQL must still stop the recovery
    if (argv[0] === 'wal' && argv[1] === 'fetch') {
      const { dataDirOfArgv, restoreCommandExit } = await import('./tasks/wal/recovery-mode.ts');
      code = restoreCommandExit(code, dataDirOfArgv(argv), process.stderr);
    }
  }
  process.stdout.write('', () => process.exit(code));
}
