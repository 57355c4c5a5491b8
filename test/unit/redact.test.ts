import { describe, expect, it } from 'vitest';
import { addSecret, redact } from '../../lib/redact.ts';

describe('redaction', () => {
  it('masks URL passwords and registered secrets', () => {
    expect(redact('cannot reach postgresql://u:hunter2@h/db')).toBe('cannot reach postgresql://u:***@h/db');
    addSecret('Tr0ub4dor&3');
    expect(redact('{"password":"Tr0ub4dor&3"} Tr0ub4dor%263')).toBe('{"password":"***"} ***');
    expect(redact('host=h password=abc dbname=x')).toBe('host=h password=*** dbname=x');
  });
});
