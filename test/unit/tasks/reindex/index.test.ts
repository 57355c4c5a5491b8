import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../../lib/errors.ts';
import { resolveOptions } from '../../../../lib/options.ts';

// reindex's bounds live in the option table: they refuse a value before anything connects.
describe('reindex options', () => {
  it('refuses a --min-bloat over 100 (exit 3), naming the range', () => {
    expect(() => resolveOptions('reindex', { 'min-bloat': '150' }, {})).toThrow(
      expect.objectContaining({ message: 'invalid --min-bloat "150": expected a whole number from 0 to 100', code: ExitCode.UNKNOWN }),
    );
    expect(resolveOptions('reindex', { 'min-bloat': '100' }, {}).values.minBloat).toBe(100);
  });
});
