import { describe, expect, it } from 'vitest';
import { madeUpManifest } from '../../../support/manifest.ts';
import { ExitCode, PgopsError } from '../../../../lib/errors.ts';
import type { Manifest } from '../../../../lib/repo/manifest.ts';
import type { Inventory } from '../../../../lib/pg/inventory.ts';
import { checkSelection, leadingName } from '../../../../lib/tasks/restore/selection-check.ts';

// What a restore refuses before it creates anything (--table and --schema that match nothing in the backup).

const INVENTORY: Inventory = {
  version: 2,
  schemas: ['"Sales Ü"', 'billing', 'public', 'reports'],
  tables: [
    '"Sales Ü"."we""ird table": id integer',
    'billing.invoices: id integer not null, total numeric(10,2)',
    'billing.orders: id integer',
    'public.orders (partitioned by RANGE (id)): id integer',
    'public.orders_2026 (partition FOR VALUES FROM (0) TO (100)): id integer',
  ],
  indexes: ['CREATE UNIQUE INDEX invoices_pkey ON billing.invoices USING btree (id)'],
  constraints: [],
  sequences: [{ name: 'billing.invoice_no', lastValue: '7', isCalled: true }],
  views: ['public."open: invoices": SELECT 1'],
  materializedViews: ['reports.totals (not populated): SELECT 1'],
  functions: [],
  triggers: [],
  policies: [],
  extensions: ['plpgsql 1.0'],
  largeObjects: 0,
};

function manifest(over: { inventory?: Inventory | undefined; fingerprints?: Manifest['fingerprints'] } = {}): Manifest {
  const m = madeUpManifest({ fingerprints: over.fingerprints ?? { mode: 'count', tables: [] } });
  return 'inventory' in over ? (over.inventory ? { ...m, inventory: over.inventory } : m) : { ...m, inventory: INVENTORY };
}

// The error checkSelection throws, or undefined when it accepts the selection.
function refusal(tables: string[], schemas: string[] = [], m = manifest()): PgopsError | undefined {
  try {
    checkSelection(m, tables, schemas);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(PgopsError);
    return err as PgopsError;
  }
}

describe('leadingName', () => {
  it.each([
    ['billing.invoices: id integer not null', { schema: 'billing', name: 'invoices' }],
    ['"Sales Ü"."we""ird table": id integer', { schema: 'Sales Ü', name: 'we"ird table' }],
    ['"a.b"."c: d" (partitioned by RANGE (id)): id integer', { schema: 'a.b', name: 'c: d' }],
    ['"x"".y"."""": id integer', { schema: 'x".y', name: '"' }],
    ['"s:"."(t)" (partition FOR VALUES IN (1)): id integer', { schema: 's:', name: '(t)' }],
    ['reports.totals (not populated): SELECT 1', { schema: 'reports', name: 'totals' }],
    ['public.orders (3 columns)', { schema: 'public', name: 'orders' }],
    ['billing.invoice_no', { schema: 'billing', name: 'invoice_no' }],
  ])('reads the schema and name of %j', (entry, expected) => {
    expect(leadingName(entry)).toEqual(expected);
  });

  it.each(['orders: id integer', '"unclosed.orders', 'CREATE INDEX i ON public.t USING btree (id)', ''])('reads no name from %j', (entry) => {
    expect(leadingName(entry)).toBeUndefined();
  });
});

describe('checkSelection', () => {
  it('accepts tables, partitions, views, materialized views and sequences as the backup names them, and its schemas', () => {
    expect(refusal(['billing.invoices', '"Sales Ü"."we""ird table"', 'public.orders_2026', 'orders', 'public."open: invoices"', 'reports.totals', 'billing.invoice_no'], ['Sales Ü', 'billing'])).toBeUndefined();
    expect(refusal([], [])).toBeUndefined();
  });

  it('refuses a table without a schema that is only in another schema, naming it schema-qualified', () => {
    const err = refusal(['invoices'])!;
    expect(err.code).toBe(ExitCode.NOT_FOUND);
    expect(err.message).toBe('nothing to restore for table public.invoices (a name without a schema means public) is not in the backup (did you mean billing.invoices?)');
    expect(err.hint).toBe('write --table SCHEMA.TABLE as the backup names it (pg_restore matches names exactly); backup 20261122T031700Z holds 8 tables, views and sequences; nothing was created');
  });

  it('suggests every schema that has a table of that name', () => {
    expect(refusal(['shop.orders'])!.message).toBe('nothing to restore for table shop.orders is not in the backup (did you mean billing.orders, public.orders?)');
  });

  it('suggests the close names of a misspelt or miscased table, and of a misspelt schema', () => {
    expect(refusal(['billing.invoice'])!.message).toBe('nothing to restore for table billing.invoice is not in the backup (did you mean billing.invoices?)');
    expect(refusal(['billing.Invoices'])!.message).toBe('nothing to restore for table billing."Invoices" is not in the backup (did you mean billing.invoices?)');
    expect(refusal([], ['billingg'])!.message).toBe('nothing to restore for schema "billingg" is not in the backup (did you mean billing?)');
    expect(refusal([], ['sales ü'])!.message).toBe('nothing to restore for schema "sales ü" is not in the backup (did you mean "Sales Ü"?)');
  });

  it('suggests nothing when no name is close', () => {
    expect(refusal(['public.zzzzzzzz'])!.message).toBe('nothing to restore for table public.zzzzzzzz is not in the backup');
    expect(refusal([], ['zzzzzzzz'])!.message).toBe('nothing to restore for schema "zzzzzzzz" is not in the backup');
  });

  it('says a quoted name without a schema means public too', () => {
    expect(refusal(['"Invoices"'])!.message).toBe('nothing to restore for table public."Invoices" (a name without a schema means public) is not in the backup (did you mean billing.invoices?)');
    expect(refusal(['"open.invoices"'])!.message).toMatch(/^nothing to restore for table public\."open\.invoices" \(a name without a schema means public\) is not in the backup/);
  });

  it('names every value that matches nothing, schemas first', () => {
    expect(refusal(['billing.invoice', 'billing.invoices'], ['billingg', 'public'])!.message).toBe(
      'nothing to restore for schema "billingg" is not in the backup (did you mean billing?); table billing.invoice is not in the backup (did you mean billing.invoices?)',
    );
  });

  it('does not check a set taken without a catalogue inventory', () => {
    expect(refusal(['nowhere.nothing'], ['nowhere'], manifest({ inventory: undefined }))).toBeUndefined();
  });

  it('reads the names of an older inventory, which held names only', () => {
    const old: Inventory = { ...INVENTORY, version: undefined, tables: ['billing.invoices (2 columns)'], views: [], materializedViews: ['reports.totals'], sequences: [] };
    expect(refusal(['billing.invoices', 'reports.totals'], [], manifest({ inventory: old }))).toBeUndefined();
    expect(refusal(['invoices'], [], manifest({ inventory: old }))!.message).toMatch(/did you mean billing\.invoices\?\)$/);
  });
});
