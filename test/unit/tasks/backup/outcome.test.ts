import { describe, expect, it } from 'vitest';
import { streamFailure } from '../../../../lib/tasks/backup/outcome.ts';

const ok = <T>(value: T): PromiseSettledResult<T> => ({ status: 'fulfilled', value });
const failed = (reason: unknown): PromiseSettledResult<never> => ({ status: 'rejected', reason });

describe('streamFailure', () => {
  const disk = new Error("no space left on the repository's disk (/repo/backups/app/x/dump)");
  const pgDump = new Error('pg_dump exited with code 1:\npg_dump: terminated by user');

  it('is the storage error when the upload failed and pg_dump then died of its pipe', () => {
    expect(streamFailure(failed(disk), failed(pgDump))).toBe(disk);
  });

  it("is pg_dump's error when the upload failed only because pg_dump's output errored", () => {
    expect(streamFailure(failed(pgDump), failed(pgDump))).toBe(pgDump);
    // a store's mapping of the stream's error keeps it as its cause
    expect(streamFailure(failed(new Error('s3 upload of dump failed', { cause: pgDump })), failed(pgDump))).toBe(pgDump);
  });

  it("is pg_dump's error when the upload did not fail, the upload's when pg_dump did not", () => {
    expect(streamFailure(ok(1), failed(pgDump))).toBe(pgDump);
    expect(streamFailure(failed(disk), ok(undefined))).toBe(disk);
    expect(streamFailure(ok(1), ok(undefined))).toBeUndefined();
  });

  it("is the run's own report of an abort (SIGTERM), whatever the upload says", () => {
    const controller = new AbortController();
    const interrupted = new Error('interrupted by SIGTERM');
    controller.abort(interrupted);
    expect(streamFailure(failed(new Error('The operation was aborted')), failed(interrupted), controller.signal)).toBe(interrupted);
  });
});
