import { describe, expect, it } from 'vitest';
import { classifyKey, dataKey, encodeSidecar, parseSidecar, sidecarKey, type Sidecar } from '../../lib/wal/layout.ts';

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

describe('the WAL folder of a repository', () => {
  it('keeps each system in wal/<system identifier>/, data and sidecar side by side', () => {
    expect(dataKey('771', '000000010000000000000003', 'none')).toBe('wal/771/000000010000000000000003');
    expect(dataKey('771', '000000010000000000000003', 'gzip')).toBe('wal/771/000000010000000000000003.gz');
    expect(dataKey('771', '00000002.history', 'brotli')).toBe('wal/771/00000002.history.br');
    expect(sidecarKey('771', '000000010000000000000003.00000028.backup')).toBe('wal/771/000000010000000000000003.00000028.backup.json');
  });

  it('tells data objects from sidecars in a listing', () => {
    expect(classifyKey('000000010000000000000003')).toEqual({ name: '000000010000000000000003', role: 'data', compression: 'none' });
    expect(classifyKey('000000010000000000000003.partial.br')).toEqual({ name: '000000010000000000000003.partial', role: 'data', compression: 'brotli' });
    expect(classifyKey('00000002.history.json')).toEqual({ name: '00000002.history', role: 'sidecar' });
    expect(classifyKey('.pgops-tmp-000000010000000000000003-12-ab')).toBeUndefined();
  });

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
