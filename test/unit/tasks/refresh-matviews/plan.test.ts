import { describe, expect, it } from 'vitest';
import type { Matview } from '../../../../lib/tasks/refresh-matviews/catalog.ts';
import { dependencyOrder, planRefresh, resolveMatviews } from '../../../../lib/tasks/refresh-matviews/plan.ts';

let nextOid = 1;
const mv = (name: string, over: Partial<Matview> = {}): Matview => ({
  oid: nextOid++, schema: 'public', name, populated: true, uniqueIndex: `${name}_key`, mayRefresh: true, sizeBytes: 8192, dependsOn: [], ...over,
});

describe('refresh order', () => {
  it('puts every view after the views it reads, then by name', () => {
    const base = mv('z_base');
    const mid = mv('m_mid', { dependsOn: [base.oid] });
    const top = mv('a_top', { dependsOn: [mid.oid, base.oid] });
    const lone = mv('b_lone');
    expect(dependencyOrder([top, lone, mid, base]).map((m) => m.name)).toEqual(['b_lone', 'z_base', 'm_mid', 'a_top']);
  });

  it('keeps that order for a subset chosen with --matview', () => {
    const base = mv('z_base');
    const mid = mv('m_mid', { dependsOn: [base.oid] });
    const top = mv('a_top', { dependsOn: [mid.oid] });
    const items = planRefresh([top, mid, base], new Set([top.oid, base.oid]), false);
    expect(items.map((i) => i.view.name)).toEqual(['z_base', 'a_top']);
  });
});

describe('refresh mode', () => {
  it('is CONCURRENTLY only for a populated view with a usable unique index', () => {
    const items = planRefresh([mv('a'), mv('b', { uniqueIndex: null }), mv('c', { populated: false })], undefined, false);
    expect(items.map((i) => [i.view.name, i.concurrently, i.status])).toEqual([['a', true, 'planned'], ['b', false, 'planned'], ['c', false, 'planned']]);
    expect(items[1].why).toMatch(/blocks readers/);
    expect(items[2].why).toMatch(/not populated/);
  });

  it('skips blocking refreshes with --concurrently-only, and views the role does not own', () => {
    const items = planRefresh([mv('a'), mv('b', { uniqueIndex: null }), mv('c', { mayRefresh: false })], undefined, true);
    expect(items.map((i) => [i.view.name, i.status])).toEqual([['a', 'planned'], ['b', 'skipped'], ['c', 'skipped']]);
  });

  it('refuses a --matview name that does not exist (exit 3)', () => {
    expect(() => resolveMatviews([mv('a')], [{ schema: 'public', name: 'b' }], 'app')).toThrow('materialized view public.b does not exist in database "app"');
  });
});
