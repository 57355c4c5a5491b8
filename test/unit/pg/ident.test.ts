import { describe, expect, it } from 'vitest';
import { parseQualifiedName } from '../../../lib/pg/ident.ts';

describe('qualified names', () => {
  it('parses SCHEMA.TABLE with quoted parts', () => {
    expect(parseQualifiedName('public.orders')).toEqual({ schema: 'public', name: 'orders' });
    expect(parseQualifiedName('orders')).toEqual({ schema: 'public', name: 'orders' });
    expect(parseQualifiedName('"Sales Ü"."we""ird.table"')).toEqual({ schema: 'Sales Ü', name: 'we"ird.table' });
    expect(parseQualifiedName('a.b.c')).toBeUndefined();
    expect(parseQualifiedName('"open')).toBeUndefined();
    expect(parseQualifiedName('a.')).toBeUndefined();
  });
});
