import { describe, expect, it } from 'vitest';
import { buildParser, positionalNames } from '../../../../lib/cli/parser.ts';
import { resolveOptions } from '../../../../lib/options.ts';
import { parseWalArgs, pgdataOf, walCommandOf } from '../../../../lib/tasks/wal/args.ts';
import { TASKS } from '../../../../lib/tasks/index.ts';

// What the one full parser (yargs) makes of a command line: the flags runTask receives.
function viaYargs(argv: string[]): Record<string, unknown> {
  let flags: Record<string, unknown> = {};
  buildParser(argv, (_entry, f) => (flags = f)).parse();
  return flags;
}

describe('the start-up parser of wal push and wal fetch', () => {
  const lines = [
    ['wal', 'push', 'pg_wal/000000010000000000000003', '--repo', 'file:///var/lib/pgops', '--wal-compress', 'gzip'],
    ['wal', 'push', 'pg_wal/00000002.history', '--repo=s3://b/p', '--s3-path-style', '--s3-endpoint', 'http://127.0.0.1:9000', '--json'],
    ['wal', 'fetch', '000000010000000000000003', 'pg_wal/RECOVERYXLOG', '--repo', 'file:///var/lib/pgops', '--system-id', '7711452911105411229', '--verbose'],
    ['wal', 'fetch', '00000002.history', 'pg_wal/RECOVERYHISTORY', '--config', '/etc/pgops/pgops.config.yml', '--target', 'main'],
  ];

  it('resolves a command line to the same options and arguments as the full parser', () => {
    for (const argv of lines) {
      const fast = parseWalArgs(argv);
      expect(fast, argv.join(' ')).toBeDefined();
      expect(resolveOptions(fast!.task, fast!.flags, {}).values).toEqual(resolveOptions(fast!.task, viaYargs(argv), {}).values);
      for (const p of fast!.positionals) expect(fast!.flags[p]).toBe(viaYargs(argv)[p]);
    }
  });

  it('gives each command the positionals the task registry gives it', () => {
    for (const task of ['wal-push', 'wal-fetch'] as const) {
      const entry = TASKS.find((e) => e.name === task)!;
      const argv = [...entry.command.split(' '), ...positionalNames(entry.positional).map((p) => `value-of-${p}`)];
      expect(parseWalArgs(argv)?.positionals).toEqual(positionalNames(entry.positional));
    }
  });

  it('leaves help, unknown options and wrong argument counts to the full parser, which explains them', () => {
    expect(parseWalArgs(['wal', 'push', '--help'])).toBeUndefined();
    expect(parseWalArgs(['wal', 'push', 'x', '--repo', 'file:///r', '--nope'])).toBeUndefined();
    expect(parseWalArgs(['wal', 'push', 'x', '--repo'])).toBeUndefined();
    expect(parseWalArgs(['wal', 'push'])).toBeUndefined();
    expect(parseWalArgs(['wal', 'fetch', '000000010000000000000003'])).toBeUndefined();
    expect(parseWalArgs(['wal', 'push', 'a', 'b'])).toBeUndefined();
    expect(parseWalArgs(['wal', 'check', '--db', 'postgresql://x/y'])).toBeUndefined();
    expect(parseWalArgs(['backup'])).toBeUndefined();
  });

  it('keeps an option given twice as two values, so that it is refused as in the full parser', () => {
    const fast = parseWalArgs(['wal', 'push', 'x', '--repo', 'file:///a', '--repo', 'file:///b'])!;
    expect(() => resolveOptions('wal-push', fast.flags, {})).toThrow(/--repo was given 2 times/);
    expect(() => resolveOptions('wal-push', viaYargs(['wal', 'push', 'x', '--repo', 'file:///a', '--repo', 'file:///b']), {})).toThrow(/--repo was given 2 times/);
  });

  it('tells a wal push or fetch command line from every other', () => {
    expect(walCommandOf(['wal', 'push', 'x'])).toBe('wal-push');
    expect(walCommandOf(['wal', 'fetch'])).toBe('wal-fetch');
    expect(walCommandOf(['wal', 'check'])).toBeUndefined();
    expect(walCommandOf(['backup', 'wal', 'push'])).toBeUndefined();
  });

  it('finds the data directory of a command line: --pgdata, then PGOPS_PGDATA, PGDATA, then the current directory', () => {
    expect(pgdataOf(['wal', 'fetch', 'x', 'y', '--pgdata', '/a'], { PGDATA: '/b' })).toBe('/a');
    expect(pgdataOf(['wal', 'fetch', '--pgdata=/a/b/'], {})).toBe('/a/b');
    expect(pgdataOf(['wal', 'fetch'], { PGOPS_PGDATA: '/c', PGDATA: '/b' })).toBe('/c');
    expect(pgdataOf(['wal', 'fetch'], { PGDATA: '/b' })).toBe('/b');
    expect(pgdataOf(['wal', 'fetch'], {})).toBe(process.cwd());
  });
});
