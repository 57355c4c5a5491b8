// Which error a program's output streamed into the repository ends with, when something failed.
//
// The storage's error wins: when the upload fails (a full disk, a lost S3 endpoint, a store answering 503), the
// program is stopped and dies of its broken pipe ("pg_dump: terminated by user"), which says nothing of the cause.
// The program's own error wins when the upload did not fail, or failed only because the program's output ended in
// that very error. An abort (SIGTERM, the backup's connection lost) is the cause of both, and the program's run
// reports it as such.
export function streamFailure(put: PromiseSettledResult<unknown>, tool: PromiseSettledResult<unknown>, signal?: AbortSignal): unknown {
  if (signal?.aborted) return tool.status === 'rejected' ? tool.reason : put.status === 'rejected' ? put.reason : signal.reason;
  if (put.status === 'rejected' && !(tool.status === 'rejected' && causedBy(put.reason, tool.reason))) return put.reason;
  if (tool.status === 'rejected') return tool.reason;
  if (put.status === 'rejected') return put.reason;
  return undefined;
}

// True when err is cause, or wraps it somewhere down its chain of causes.
function causedBy(err: unknown, cause: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    if (e === cause) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
