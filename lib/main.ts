import { installWarningHandler } from './log.ts';

// The process entry of the pgops bin: run one command, flush stdout, exit with its code
// (pools and keep-alive sockets must not keep a cron job alive).
// `wal push` and `wal fetch` run once per WAL segment as archive_command and restore_command: they start through
// their own entry (lib/tasks/wal/entry.ts); other tasks through lib/fast-cli.ts. Both skip yargs; what they cannot
// parse (help, version, mistakes to explain) falls through to the full CLI.
export async function run(argv: string[]): Promise<void> {
  installWarningHandler();
  let code: number | undefined;
  if (argv[0] === 'wal' && (argv[1] === 'push' || argv[1] === 'fetch')) code = await (await import('./tasks/wal/entry.ts')).runWal(argv);
  else code = await (await import('./fast-cli.ts')).runFastTask(argv);
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
