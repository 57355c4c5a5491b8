import { describe, expect, it } from 'vitest';
import { encodeSidecar, parseSidecar, type Sidecar } from '../../../lib/repo/wal-sidecar.ts';

const SIDECAR: Sidecar = {
  format: 'pgops-wal',
  version: 1,
  name: '000000010000000000000003',
  systemIdentifier: '7711452911105411229',
  size: 16777216,
  sha256: 'a'.repeat(64),
  compression: 'gzip',
  stored: '000000010000000000000003.gz',
  storedSize: 1809600,
  pushedAt: '2026-11-23T03:17:00.000Z',
};

describe('the sidecar of an archived WAL file', () => {
  it('reads back the sidecar it writes', () => {
    expect(parseSidecar(encodeSidecar(SIDECAR), SIDECAR.name)).toEqual(SIDECAR);
  });

  it('refuses a sidecar that is damaged or belongs to another file', () => {
    expect(() => parseSidecar('{', SIDECAR.name)).toThrow(/not JSON/);
    expect(() => parseSidecar(encodeSidecar(SIDECAR), '000000010000000000000004')).toThrow(/names 000000010000000000000003/);
    expect(() => parseSidecar(encodeSidecar({ ...SIDECAR, sha256: 'xyz' }), SIDECAR.name)).toThrow(/no valid sha256/);
    expect(() => parseSidecar(encodeSidecar({ ...SIDECAR, compression: 'lz4' as 'gzip' }), SIDECAR.name)).toThrow(/unknown compression "lz4"/);
    expect(() => parseSidecar(encodeSidecar({ ...SIDECAR, stored: '../../etc/passwd' }), SIDECAR.name)).toThrow(/points at/);
    expect(() => parseSidecar(JSON.stringify({ ...SIDECAR, format: 'other' }), SIDECAR.name)).toThrow(/not a pgops-wal version 1 sidecar/);
  });
});
