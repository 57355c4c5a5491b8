import { describe, expect, it } from 'vitest';
import { ExitCode, PgopsError } from '../../../lib/errors.ts';
import { fsError } from '../../../lib/repo/fs-errors.ts';

// A file-system error as node raises it: an Error with an errno code, the system call and the path it failed on.
const sysError = (code: string, syscall = 'open', path = '/repo/wal/1/.pgops-tmp-x') => Object.assign(new Error(`${code}: failed, ${syscall} '${path}'`), { code, syscall, path });
const at = { action: 'writing' as const, path: '/repo/wal/1/000000010000000000000003' };

describe('fsError names the cause and the path the user knows', () => {
  it('a full disk and an exceeded quota: "no space left on the repository\'s disk (path)"', () => {
    const full = fsError(sysError('ENOSPC', 'write'), at) as PgopsError;
    expect(full).toBeInstanceOf(PgopsError);
    expect(full.message).toBe("no space left on the repository's disk (/repo/wal/1/000000010000000000000003)");
    expect(full.code).toBe(ExitCode.FAILED);
    expect((fsError(sysError('EDQUOT', 'write'), at) as PgopsError).message).toBe("no space left on the repository's disk (/repo/wal/1/000000010000000000000003): the disk quota is exceeded");
    expect((fsError(sysError('ENOSPC'), { ...at, disk: 'the disk of the destination' }) as PgopsError).message).toMatch(/^no space left on the disk of the destination /);
  });

  it('permission denied: the object, never the temp file, and the folder that refused in the hint', () => {
    const e = fsError(sysError('EACCES'), at) as PgopsError;
    expect(e.message).toBe('permission denied writing /repo/wal/1/000000010000000000000003');
    expect(e.hint).toContain('must be able to write into /repo/wal/1:');
    expect(e.message).not.toContain('.pgops-tmp-');
    const mkdir = fsError(sysError('EACCES', 'mkdir', '/repo/wal'), at) as PgopsError;
    expect(mkdir.hint).toContain('must be able to write into /repo:');
    expect((fsError(sysError('EPERM'), { action: 'reading', path: '/repo/x.json' }) as PgopsError).message).toBe('permission denied reading /repo/x.json');
  });

  it('read-only, i/o errors and anything else with an errno code become PgopsErrors with a hint', () => {
    expect((fsError(sysError('EROFS'), at) as PgopsError).message).toBe('cannot write /repo/wal/1/000000010000000000000003: its file system is read-only');
    expect((fsError(sysError('EIO', 'fsync'), at) as PgopsError).message).toBe('i/o error writing /repo/wal/1/000000010000000000000003');
    const other = fsError(sysError('EMFILE'), at) as PgopsError;
    expect(other.message).toMatch(/^writing \/repo\/wal\/1\/000000010000000000000003 failed: EMFILE/);
    expect(other.hint).toBeTruthy();
  });

  it('leaves alone what is not a file-system error: a PgopsError, an abort, a stream error', () => {
    const own = new PgopsError('already named');
    expect(fsError(own, at)).toBe(own);
    const abort = Object.assign(new Error('aborted'), { code: 'ABORT_ERR', name: 'AbortError' });
    expect(fsError(abort, at)).toBe(abort);
    const plain = new Error('premature close');
    expect(fsError(plain, at)).toBe(plain);
  });
});
