import { describe, expect, it } from 'vitest';
import { optionEntry, optionsHelp, placeholderOf } from '../../../lib/cli/help.ts';
import { buildParser } from '../../../lib/cli/parser.ts';
import { OPTION_DEFS, optionsFor } from '../../../lib/options.ts';
import { TASKS } from '../../../lib/tasks/index.ts';

const def = (flag: string) => OPTION_DEFS.find((d) => d.flag === flag)!;

// A task's --help text, as yargs prints it.
async function helpOf(words: string[]): Promise<string> {
  let text = '';
  await buildParser([], () => {}).parseAsync([...words, '--help'], {}, (_err, _argv, output) => {
    text = output;
  });
  return text;
}

describe('help from the option table', () => {
  it('names each value by its placeholder, else by its type', () => {
    expect(placeholderOf(def('db'))).toBe('CONNINFO');
    expect(placeholderOf(def('keep-last'))).toBe('N');
    expect(placeholderOf(def('lock-wait-timeout'))).toBe('DURATION');
    expect(placeholderOf(def('s3-part-size'))).toBe('SIZE');
    expect(placeholderOf(def('format'))).toBe('custom|directory');
    expect(placeholderOf(def('execute'))).toBe('');
  });

  it('says the type, range, default and variables of an option', () => {
    expect(optionEntry(def('min-bloat'))).toEqual({
      left: '--min-bloat PERCENT',
      right: 'reindex: rebuild an index when its estimated bloat is at least this percentage of its size [a whole number from 0 to 100; default: 30; env: PGOPS_MIN_BLOAT]',
    });
    expect(optionEntry(def('jobs')).left).toBe('-j, --jobs N');
    expect(optionEntry(def('partition-table')).left).toBe('--partition-table SCHEMA.TABLE (or --table)');
    expect(optionEntry(def('execute')).right).toContain('not from a config file');
  });

  it('wraps descriptions under their column', () => {
    const lines = optionsHelp([def('db'), def('keep-last')], 60).split('\n');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(60);
    expect(lines[0]).toMatch(/^ {2}--db CONNINFO +the database, as psql takes it/);
    expect(lines[1]).toMatch(/^ {17,}\S/);
  });

  it("lists every option of every task in that task's --help", async () => {
    for (const entry of TASKS) {
      const text = await helpOf(entry.command.split(' '));
      for (const d of optionsFor(entry.name)) expect(text, `${entry.command}: --${d.flag}`).toContain(optionEntry(d).left);
      expect(text).toContain(`pgops ${entry.command}`);
      expect(text).toContain('Exit codes: 0 ok, 1 warning, 2 failed, 3 unknown');
    }
  });
});
