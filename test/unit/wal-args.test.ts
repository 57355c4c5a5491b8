import { describe, expect, it } from 'vitest';
import { buildParser } from '../../lib/cli.ts';
import { resolveOptions } from '../../lib/options.ts';
import { parseFastArgs } from '../../lib/tasks/wal/args.ts';

// What yargs (the full CLI) makes of a command line: the flags runTask receives.
function viaYargs(argv: string[]): Record<string, unknown> {
  let flags: Record<string, unknown> = {};
  buildParser(argv, (_entry, f) => (flags = f)).parse();
  return flags;
}

describe('the start-up path of wal push and wal fetch', () => {
  const lines = [
    ['wal', 'push', 'pg_wal/000000010000000000000003', '--repo', 'file:///var/lib/pgops', '--wal-compress', 'gzip'],
    ['wal', 'push', 'pg_wal/00000002.history', '--repo=s3://b/p', '--s3-path-style', '--s3-endpoint', 'http://127.0.0.1:9000', '--json'],
    ['wal', 'fetch', '000000010000000000000003', 'pg_wal/RECOVERYXLOG', '--repo', 'file:///var/lib/pgops', '--system-id', '7711452911105411229', '--verbose'],
    ['wal', 'fetch', '00000002.history', 'pg_wal/RECOVERYHISTORY', '--config', '/etc/pgops/pgops.config.yml', '--target', 'main'],
  ];

  it('resolves a command line to the same options as the full CLI', () => {
    for (const argv of lines) {
      const fast = parseFastArgs(argv);
      expect(fast, argv.join(' ')).toBeDefined();
      const task = fast!.task;
      expect(resolveOptions(task, fast!.flags, {}).values).toEqual(resolveOptions(task, viaYargs(argv), {}).values);
      for (const p of fast!.positionals) expect(fast!.flags[p]).toBe(viaYargs(argv)[p]);
    }
  });

  it('leaves help, unknown options and wrong argument counts to the full CLI, which explains them', () => {
    expect(parseFastArgs(['wal', 'push', '--help'])).toBeUndefined();
    expect(parseFastArgs(['wal', 'push', 'x', '--repo', 'file:///r', '--nope'])).toBeUndefined();
    expect(parseFastArgs(['wal', 'push'])).toBeUndefined();
    expect(parseFastArgs(['wal', 'fetch', '000000010000000000000003'])).toBeUndefined();
    expect(parseFastArgs(['wal', 'push', 'a', 'b'])).toBeUndefined();
    expect(parseFastArgs(['wal', 'check', '--db', 'postgresql://x/y'])).toBeUndefined();
    expect(parseFastArgs(['backup'])).toBeUndefined();
  });

  it('keeps an option given twice as two values, so that it is refused as in the full CLI', () => {
    const fast = parseFastArgs(['wal', 'push', 'x', '--repo', 'file:///a', '--repo', 'file:///b'])!;
    expect(() => resolveOptions('wal-push', fast.flags, {})).toThrow(/--repo was given 2 times/);
  });
});
