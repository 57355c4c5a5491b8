import { describe, expect, it } from 'vitest';
import { maskSecrets, parseWindow } from '../../../../../lib/tasks/wal/check/index.ts';

describe('wal check options', () => {
  it('reads --wal-window', () => {
    expect(parseWindow('backup')).toEqual({ mode: 'backup' });
    expect(parseWindow('all')).toEqual({ mode: 'all' });
    expect(parseWindow('24h')).toEqual({ mode: 'since', ms: 86_400_000 });
    expect(() => parseWindow('yesterday')).toThrow(/invalid --wal-window "yesterday": expected all, backup or a duration/);
  });

  it('never prints credentials an archive_command carries', () => {
    expect(maskSecrets("AWS_SECRET_ACCESS_KEY=abc123 AWS_ACCESS_KEY_ID=AKIA pgops wal push %p")).toBe('AWS_SECRET_ACCESS_KEY=*** AWS_ACCESS_KEY_ID=*** pgops wal push %p');
    expect(maskSecrets("PGPASSWORD='s e c' x")).toBe('PGPASSWORD=*** x');
    expect(maskSecrets(null)).toBeNull();
  });
});
