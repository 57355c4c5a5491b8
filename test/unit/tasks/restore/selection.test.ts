import { describe, expect, it } from 'vitest';
import { restorePasses } from '../../../../lib/tasks/restore/selection.ts';

describe('restore selections', () => {
  it('makes one pg_restore pass per schema group', () => {
    expect(restorePasses([], [])).toEqual([[]]);
    expect(restorePasses(['public.a', 'public.b', 's.c'], [])).toEqual([
      ['--schema=public', '--table=a', '--table=b'],
      ['--schema=s', '--table=c'],
    ]);
    expect(restorePasses(['s.c', 'public.a'], ['s'])).toEqual([['--schema=s'], ['--schema=public', '--table=a']]);
    expect(() => restorePasses(['a.b.c'], [])).toThrow(/invalid --table "a.b.c"/);
  });
});
