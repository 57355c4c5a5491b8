import { describe, expect, it } from 'vitest';
import { formatTable } from '../../../lib/plan/table.ts';

describe('plan tables', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(formatTable(['a', 'bb'], [['long cell', 'x']])).toBe('a          bb\nlong cell  x');
  });
});
