import { describe, expect, it } from 'vitest';
import { closingLine, countLine, exitCodeOf, outcomeText } from '../../../lib/plan/outcome.ts';

describe('maintenance outcomes', () => {
  it('exit 2 when anything failed, 1 when something was skipped, else 0', () => {
    expect(exitCodeOf(['done', 'skipped', 'failed'])).toBe(2);
    expect(exitCodeOf(['done', 'skipped'])).toBe(1);
    expect(exitCodeOf(['done', 'planned'])).toBe(0);
    expect(exitCodeOf([])).toBe(0);
    expect(countLine(['done', 'done', 'failed'])).toBe('2 done, 1 failed');
    expect(countLine([])).toBe('nothing to do');
  });

  it('says how many attempts an action took, and why it failed or was skipped', () => {
    expect(outcomeText({ status: 'done' })).toBe('done');
    expect(outcomeText({ status: 'done', attempts: 3 })).toBe('done (3 attempts)');
    expect(outcomeText({ status: 'failed', attempts: 2, error: 'lock timeout' }, '; left behind: t_ccnew')).toBe('failed (2 attempts): lock timeout; left behind: t_ccnew');
    expect(outcomeText({ status: 'skipped', note: 'over --max-indexes' })).toBe('skipped: over --max-indexes');
  });

  it('ends a dry run by saying nothing changed and what --execute would do', () => {
    expect(closingLine('shop', ['planned', 'planned'], { execute: false, elapsedMs: 10, did: 'ANALYZE', wouldDo: 'run ANALYZE' }))
      .toBe('dry run on database "shop": 2 planned; nothing changed; add --execute to run ANALYZE');
    expect(closingLine('shop', ['done', 'failed'], { execute: true, elapsedMs: 1500, did: 'ANALYZE', wouldDo: 'run ANALYZE' }))
      .toBe('ANALYZE of database "shop": 1 done, 1 failed in 1.5s');
  });
});
