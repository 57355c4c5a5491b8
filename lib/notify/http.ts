// A small HTTP call with a timeout; resolves with the status code, rejects on network errors.
export async function httpCall(url: string, init: { method: string; body?: string; headers?: Record<string, string> }, timeoutMs = 10_000): Promise<number> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
}
