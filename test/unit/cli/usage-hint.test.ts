import { describe, expect, it } from 'vitest';
import { usageProblem } from '../../../lib/cli/usage-hint.ts';
import { runCli } from '../../support/cli.ts';

describe('a mistyped command line', () => {
  it('names the unknown command and the nearest one', () => {
    expect(usageProblem(['bakup'])).toEqual({ message: 'unknown command "bakup"', hint: 'did you mean backup? see pgops --help for the tasks' });
    expect(usageProblem(['wal', 'chek'])).toMatchObject({ message: 'unknown command "wal chek"', hint: expect.stringMatching(/^did you mean wal check\?/) });
    expect(usageProblem(['backups'])).toMatchObject({ message: 'pgops backups needs a command: list' });
    // a value after an option is not taken for the command
    expect(usageProblem(['--config', 'f.yml', 'bakup'])?.message).toBe('unknown command "bakup"');
  });

  it('names the unknown option and the nearest one, or the task it belongs to', () => {
    expect(usageProblem(['backup', '--dbb', 'x'])).toEqual({ message: 'unknown option --dbb for pgops backup', hint: 'did you mean --db? see pgops backup --help' });
    expect(usageProblem(['prune', '--keepLast=3'])?.hint).toMatch(/^did you mean --keep-last\?/);
    expect(usageProblem(['backup', '--keep-last', '3'])).toMatchObject({ message: '--keep-last is not an option of pgops backup', hint: expect.stringMatching(/^it is one of prune;/) });
    expect(usageProblem(['backup', '-x'])).toEqual({ message: 'unknown option -x for pgops backup', hint: 'see pgops backup --help' });
  });

  it('leaves other mistakes to the parser', () => {
    expect(usageProblem(['backup', '--db'])).toBeUndefined();
    expect(usageProblem(['backup', '-h'])).toBeUndefined();
    expect(usageProblem([])).toBeUndefined();
  });
});

describe('the command line as the bin reads it', () => {
  it('exits 3 with "did you mean" for a mistyped command, option or config key', async () => {
    const cmd = await runCli(['bakup']);
    expect(cmd.exitCode).toBe(3);
    expect(cmd.stderr).toBe('pgops: unknown command "bakup"\nHINT: did you mean backup? see pgops --help for the tasks\n');
    const opt = await runCli(['backup', '--dbb', 'postgresql://h/app']);
    expect(opt.exitCode).toBe(3);
    expect(opt.stderr).toContain('HINT: did you mean --db?');
    const fetch = await runCli(['wal', 'fetch', '--pgdat', '/nowhere', 'x', 'y']);
    expect(fetch.stderr).toContain('did you mean --pgdata?');
  });

  it('takes -h and -V as --help and --version, on every command', async () => {
    for (const argv of [['-V'], ['backup', '-V']]) {
      const r = await runCli(argv);
      expect(r.exitCode, argv.join(' ')).toBe(0);
    }
    for (const argv of [['-h'], ['backup', '-h'], ['wal', 'fetch', '-h'], ['backups', 'list', '-h']]) {
      const r = await runCli(argv);
      expect(r.exitCode, argv.join(' ')).toBe(0);
      expect(r.stderr, argv.join(' ')).not.toContain('Unknown argument');
    }
  });
});
