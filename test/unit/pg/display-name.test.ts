import { describe, expect, it } from 'vitest';
import { compareNames, displayName } from '../../../lib/pg/display-name.ts';

describe('names for people', () => {
  it('quotes a part only when it needs it, doubling its quotes', () => {
    expect(displayName('public', 'orders')).toBe('public.orders');
    expect(displayName('Sales Ü', 'x"; DROP TABLE victims; --')).toBe('"Sales Ü"."x""; DROP TABLE victims; --"');
  });

  it('orders names by bytes as the catalogue does, not by the locale', () => {
    expect(['public', 'Sales Ü', 'app'].sort(compareNames)).toEqual(['Sales Ü', 'app', 'public']);
  });
});
