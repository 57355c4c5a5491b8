import { main } from './cli.ts';
import { installWarningHandler } from './log.ts';

// The process entry of the pgops bin: run one command, flush stdout, exit with its code
// (pools and keep-alive sockets must not keep a cron job alive).
export async function run(argv: string[]): Promise<void> {
  installWarningHandler();
  const code = await main(argv);
  process.stdout.write('', () => process.exit(code));
}
