import { describe, expect, it } from 'vitest';
import { dependencyEntries } from '../../../../lib/tasks/restore/dependencies.ts';

describe('dependencies of selected tables', () => {
  it('picks dependency entries from a pg_restore listing', () => {
    const listing = [
      '6; 2615 16387 SCHEMA - Sales Ü app_owner',
      '853; 1247 16389 TYPE Sales Ü status root',
      '215; 1259 16400 SEQUENCE Sales Ü odd_seq root',
      '217; 1259 16402 TABLE Sales Ü we"ird table app_owner',
      '3445; 0 0 SEQUENCE OWNED BY public accounts_id_seq root',
      '3447; 0 0 SEQUENCE SET Sales Ü odd_seq root',
      '230; 1255 16456 FUNCTION public audit_balance() root',
      ';  comment',
    ].join('\n');
    expect(dependencyEntries(listing).map((l) => l.split(' ')[3])).toEqual(['SCHEMA', 'TYPE', 'SEQUENCE', 'FUNCTION']);
  });
});
