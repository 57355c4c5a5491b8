import { describe, expect, it } from 'vitest';
import { formatTable } from '../../../lib/plan/table.ts';

describe('plan tables', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(formatTable(['a', 'bb'], [['long cell', 'x']])).toBe('a          bb\nlong cell  x');
  });

  it('keeps a column of system identifiers (all digits, but names) left-aligned', () => {
    expect(formatTable(['SYSTEM', 'SIZE'], [['7714355481143449614', '1.0 MB'], ['-', '12 B']])).toBe('SYSTEM                 SIZE\n7714355481143449614  1.0 MB\n-                      12 B');
  });

  it('right-aligns the columns of numbers (counts, sizes, durations, "-" for none), headers too, the last one included', () => {
    const text = formatTable(
      ['ID', 'SIZE', 'DURATION', 'NAME', 'ROWS'],
      [
        ['20261122T031700Z', '3.4 MB', '1.2s', 'app', '7'],
        ['20261123T031700Z', '120 kB', '-', 'shop', '1,204'],
        ['0/2000028', '12 MB', '2m05s', 'x', '-'],
      ],
    );
    expect(text.split('\n')).toEqual([
      'ID                  SIZE  DURATION  NAME   ROWS',
      '20261122T031700Z  3.4 MB      1.2s  app       7',
      '20261123T031700Z  120 kB         -  shop  1,204',
      '0/2000028          12 MB     2m05s  x         -',
    ]);
  });
});
