// The body of every scripts/<task>.ts: `pgops <words> <the script's arguments>` through the one dispatch and the one
// exit (lib/cli/main.ts), as the bin runs it. A script runs the TypeScript sources through tsx, whose first compile
// takes a second or more: on a terminal a zx spinner says so meanwhile; the task then prints its own lines.
export async function runScript(words: readonly string[], argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const load = () => import('./main.ts');
  let entry: Awaited<ReturnType<typeof load>>;
  if (process.stderr.isTTY) {
    const { spinner } = await import('zx');
    entry = await spinner(`loading pgops ${words.join(' ')}`, load);
  } else {
    entry = await load();
  }
  await entry.main([...words, ...argv]);
}
