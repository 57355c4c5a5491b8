import { main } from './cli.ts';
import { installWarningHandler } from './log.ts';

// The body of every scripts/<task>.ts: run the same handler as `pgops <words>` and exit with its code.
export async function runScript(words: string[], argv = process.argv.slice(2)): Promise<never> {
  installWarningHandler();
  const code = await main([...words, ...argv]);
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}
