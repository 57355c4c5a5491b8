import { run } from './main.ts';

// The body of every scripts/<task>.ts: the same entry as `pgops <words>` (bin/pgops.js), exiting with its code.
export async function runScript(words: string[], argv = process.argv.slice(2)): Promise<void> {
  await run([...words, ...argv]);
}
