import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../../lib/log.ts';
import { maskSecrets, parseWindow, switchWait } from '../../../../../lib/tasks/wal/check/index.ts';

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

  it('lets --switch wait no longer than leaves the check time to report before --timeout', () => {
    const ctx = { log: silentLogger('wal-check') };
    expect(switchWait(20_000, 49_000, ctx)).toBe(20_000);
    // the default --switch-timeout 60s under the default --timeout 50s: CRITICAL "not in the repository", not UNKNOWN
    expect(switchWait(60_000, 49_000, ctx)).toBe(39_000);
    expect(switchWait(60_000, Infinity, ctx)).toBe(60_000);
    expect(ctx.log.entries.map((e) => e.message)).toEqual(['--switch waits 39s rather than --switch-timeout 60s, to report before --timeout']);
  });
});
