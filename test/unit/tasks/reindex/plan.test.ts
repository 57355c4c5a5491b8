import { describe, expect, it } from 'vitest';
import { PgopsError } from '../../../../lib/errors.ts';
import type { Bloat } from '../../../../lib/tasks/reindex/bloat.ts';
import type { IndexInfo } from '../../../../lib/tasks/reindex/catalog.ts';
import { planRebuilds, resolveNamed, selectLeftovers } from '../../../../lib/tasks/reindex/plan.ts';

const MB = 1024 * 1024;
let nextOid = 1000;
const ix = (name: string, over: Partial<IndexInfo> = {}): IndexInfo => ({
  oid: nextOid++, schema: 'public', name, tableOid: 1, table: 't', size: 100 * MB, method: 'btree', kind: 'i',
  valid: true, live: true, exclusion: false, leftoverName: /_cc(new|old)[0-9]*$/.test(name), buildPid: null, ...over,
});
const bloat = (percent: number, reclaimMB: number): Bloat => ({ source: 'pgstatindex', percent, reclaimBytes: reclaimMB * MB });
const opts = { minSize: 10 * MB, minBloat: 30, maxIndexes: 10 };

describe('the reindex plan', () => {
  it('takes invalid indexes first, then the bloated ones with the most space to win', () => {
    const small = ix('small_win', { size: 50 * MB });
    const big = ix('big_win');
    const under = ix('under_threshold');
    const invalid = ix('failed_cic', { valid: false });
    const plan = planRebuilds([small, big, under, invalid], new Map([[small.oid, bloat(60, 30)], [big.oid, bloat(40, 40)], [under.oid, bloat(29.9, 29)]]), opts);
    expect(plan.rebuild.map((r) => [r.index.name, r.reason, r.status])).toEqual([
      ['failed_cic', 'invalid', 'planned'],
      ['big_win', 'bloat', 'planned'],
      ['small_win', 'bloat', 'planned'],
    ]);
    expect(plan.checked).toBe(3);
  });

  it('lists what is past --max-indexes as skipped, for the next run', () => {
    const a = ix('a');
    const b = ix('b');
    const plan = planRebuilds([a, b], new Map([[a.oid, bloat(50, 50)], [b.oid, bloat(50, 40)]]), { ...opts, maxIndexes: 1 });
    expect(plan.rebuild.map((r) => [r.index.name, r.status, r.note])).toEqual([
      ['a', 'planned', undefined],
      ['b', 'skipped', 'over --max-indexes 1: the next run takes it'],
    ]);
  });

  it('keeps indexes whose bloat could not be estimated out of the list, saying why', () => {
    const a = ix('a');
    const plan = planRebuilds([a], new Map([[a.oid, 'cannot estimate: never analyzed']]), opts);
    expect(plan.rebuild).toEqual([]);
    expect(plan.unmeasured.map((u) => [u.index.name, u.why])).toEqual([['a', 'cannot estimate: never analyzed']]);
  });

  it('rebuilds exactly the --index names, in order, whatever their bloat, and skips what REINDEX CONCURRENTLY cannot do', () => {
    const excl = ix('booking_no_overlap', { exclusion: true });
    const plain = ix('orders_pkey');
    const part = ix('events_pkey', { kind: 'I' });
    const plan = planRebuilds([plain, excl, part], new Map(), { ...opts, named: [plain, excl, part] });
    expect(plan.rebuild.map((r) => [r.index.name, r.reason, r.status])).toEqual([
      ['orders_pkey', 'named', 'planned'],
      ['booking_no_overlap', 'named', 'skipped'],
      ['events_pkey', 'named', 'skipped'],
    ]);
    expect(plan.rebuild[1].note).toMatch(/exclusion constraint/);
  });

  it('leaves alone an invalid index while an index build runs on its table: it may be that build', () => {
    const building = ix('being_built', { valid: false, buildPid: 4242 });
    const plan = planRebuilds([building], new Map(), opts);
    expect(plan.rebuild[0]).toMatchObject({ status: 'skipped', note: expect.stringContaining('pid 4242') });
  });

  it('refuses an --index name that does not exist (exit 3)', () => {
    expect(() => resolveNamed([ix('a')], [{ schema: 'public', name: 'A' }], 'app')).toThrowError(PgopsError);
    const err = (() => {
      try {
        resolveNamed([ix('a')], [{ schema: 'public', name: 'nope' }], 'app');
      } catch (e) {
        return e as PgopsError;
      }
    })();
    expect(err?.code).toBe(3);
    expect(err?.message).toBe('index public.nope does not exist in database "app"');
  });
});

describe('leftovers', () => {
  it('are the invalid _ccnew/_ccold indexes; valid ones with such names are ordinary indexes', () => {
    const list = selectLeftovers([ix('t_v_ccnew', { valid: false }), ix('t_v_ccold2', { valid: false }), ix('kept_ccnew'), ix('t_w', { valid: false })]);
    expect(list.map((l) => [l.index.name, l.status])).toEqual([['t_v_ccnew', 'planned'], ['t_v_ccold2', 'planned']]);
  });

  it('are skipped while a build runs on their table, and never rebuilt', () => {
    const busy = ix('t_v_ccnew', { valid: false, buildPid: 77 });
    expect(selectLeftovers([busy])[0]).toMatchObject({ status: 'skipped', note: expect.stringContaining('pid 77') });
    expect(planRebuilds([busy], new Map(), opts).rebuild).toEqual([]);
  });
});
