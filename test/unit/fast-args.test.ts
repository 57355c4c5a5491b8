import { describe, expect, it } from 'vitest';
import { buildParser } from '../../lib/cli.ts';
import { fixedPositionals, parseTaskArgs, positionalNames } from '../../lib/fast-args.ts';
import { resolveOptions, type TaskName } from '../../lib/options.ts';
import { TASKS } from '../../lib/tasks/index.ts';

// What yargs (the full CLI) makes of a command line: the task and the flags runTask receives.
function viaYargs(argv: string[]): { task: TaskName; flags: Record<string, unknown> } {
  let out: { task: TaskName; flags: Record<string, unknown> } | undefined;
  buildParser(argv, (entry, flags) => (out = { task: entry.name, flags })).parse();
  return out!;
}

// What lib/fast-cli.ts makes of it.
function viaFast(argv: string[]): { task: TaskName; flags: Record<string, unknown> } | undefined {
  const entry = TASKS.find((e) => e.command.split(' ').every((w, i) => argv[i] === w))!;
  const words = entry.command.split(' ').length;
  const flags = parseTaskArgs(argv.slice(words), entry.name, positionalNames(entry.positional));
  return flags && { task: entry.name, flags };
}

describe('task command lines parsed without yargs', () => {
  const lines = [
    ['backup', '--db', 'postgresql://u@h/app', '--repo', 'file:///var/lib/pgops', '--json', '--fingerprint', 'hash'],
    ['backup', '--target', 'main', '--config=/etc/pgops/pgops.config.yml', '--format', 'directory', '-j', '4'],
    ['restore', '--repo', 's3://b/p', '--backup', 'latest', '--to', 'postgresql://u@h/app2', '--table', 'public.a', '--table', 'public.b', '--create', '--jobs', '2'],
    ['restore', '--repo', 's3://b/p', '--to', 'postgresql://u@h/x', '--schema', 'sales', '--no-owner', '--globals'],
    ['prune', '--repo', 'file:///r', '--db', 'app', '--keep-daily', '7', '--execute'],
    ['drill', '--repo', 'file:///r', '--db', 'app', '--assert', 'a.yml', '--assert', 'b.yml', '--max-rto', '1h', '--amcheck'],
    ['backups', 'list', '--repo', 'file:///r', '--json'],
    ['idle-cleanup', '--db', 'postgresql://u@h/app', '--exclude-user', 'repl', '--include-superusers'],
    ['partitions', 'create', '--db', 'postgresql://u@h/app', '--table', 'public.events', '--partition-table', 'public.logs', '--execute'],
    ['partitions', 'prune', '--db', 'postgresql://u@h/app', '--table', 'public.events', '--keep', '3'],
    ['wal', 'check', '--db', 'postgresql://u@h/postgres', '--repo', 'file:///r', '--switch'],
    ['wal', 'fetch', '000000010000000000000003', 'pg_wal/RECOVERYXLOG', '--repo', 'file:///r'],
  ];

  it('gives runTask the same task, options and positionals as the full CLI', () => {
    for (const argv of lines) {
      const fast = viaFast(argv);
      expect(fast, argv.join(' ')).toBeDefined();
      const slow = viaYargs(argv);
      expect(fast!.task).toBe(slow.task);
      expect(resolveOptions(fast!.task, fast!.flags, {}).values, argv.join(' ')).toEqual(resolveOptions(slow.task, slow.flags, {}).values);
      for (const p of positionalNames(TASKS.find((e) => e.name === slow.task)!.positional)) expect(fast!.flags[p]).toBe(slow.flags[p]);
    }
  });

  it('leaves help, version, unknown options, options without values and wrong argument counts to the full CLI', () => {
    for (const argv of [
      ['backup', '--help'],
      ['backup', '--version'],
      ['backup', '--db', 'x', '--nope'],
      ['backup', '--db'],
      ['backup', 'extra'],
      ['restore', '--table', 'a', 'b'],
      ['wal', 'fetch', '000000010000000000000003'],
      ['status', '--json=yes'],
    ]) {
      expect(viaFast(argv), argv.join(' ')).toBeUndefined();
    }
  });

  it('keeps a single-valued option given twice as two values, refused as the full CLI refuses it', () => {
    const fast = viaFast(['backup', '--repo', 'file:///a', '--repo', 'file:///b'])!;
    expect(() => resolveOptions('backup', fast.flags, {})).toThrow(/--repo was given 2 times/);
    expect(() => resolveOptions('backup', viaYargs(['backup', '--repo', 'file:///a', '--repo', 'file:///b']).flags, {})).toThrow(/--repo was given 2 times/);
  });

  it('reads positional specs it can handle, and no others', () => {
    expect(positionalNames('<name> <destination>')).toEqual(['name', 'destination']);
    expect(positionalNames(undefined)).toEqual([]);
    expect(fixedPositionals('<name> <destination>')).toBe(true);
    expect(fixedPositionals(undefined)).toBe(true);
    expect(fixedPositionals('[x]')).toBe(false);
    expect(fixedPositionals('<x..>')).toBe(false);
  });
});
