import { describe, expect, it } from 'vitest';
import { globalsProblems, withoutOwnRole } from '../../../../lib/tasks/restore/globals.ts';

describe('globals', () => {
  it('leaves the connecting role alone', () => {
    const sql = 'CREATE ROLE root;\nALTER ROLE root WITH SUPERUSER;\nCREATE ROLE app_owner;\nALTER ROLE app_owner WITH NOLOGIN;\nCREATE ROLE "root 2";';
    expect(withoutOwnRole(sql, 'root')).toBe('CREATE ROLE app_owner;\nALTER ROLE app_owner WITH NOLOGIN;\nCREATE ROLE "root 2";');
    expect(withoutOwnRole('CREATE ROLE "Odd ""One""";\nCREATE ROLE x;', 'Odd "One"')).toBe('CREATE ROLE x;');
  });
  it('reports errors other than roles that already exist', () => {
    const stderr = 'psql:<stdin>:12: ERROR:  role "app_owner" already exists\npsql:<stdin>:20: ERROR:  directory "/srv/ts" does not exist\nNOTICE: x';
    expect(globalsProblems(stderr)).toEqual(['ERROR:  directory "/srv/ts" does not exist']);
  });
});
