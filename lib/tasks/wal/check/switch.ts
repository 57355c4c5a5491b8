import type pg from 'pg';
import { sidecarKey } from '../../../repo/layout.ts';
import type { Repo } from '../../../repo/repo.ts';

export type SwitchResult =
  | { done: true; segment: string; seconds: number }
  | { done: false; segment: string; seconds: number }
  | { skipped: string };

const POLL_MS = 200;

// Ends the current segment with pg_switch_wal() and waits until the repository holds it (sidecar written), proving
// server, archive_command and repository work together. A logical message first makes sure there is WAL to switch.
export async function switchAndWait(client: pg.Client, repo: Repo, systemId: string, timeoutMs: number, signal?: AbortSignal): Promise<SwitchResult> {
  // writes one WAL record, so that pg_switch_wal() has a segment to end even on an idle server (any role may call it)
  await client.query(`SELECT pg_logical_emit_message(false, 'pgops', 'wal check --switch')`).catch(() => undefined);
  let segment: string;
  try {
    segment = (await client.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0].f;
  } catch (err) {
    if ((err as { code?: string }).code === '42501') {
      return { skipped: `pg_switch_wal() is not granted to this role (GRANT EXECUTE ON FUNCTION pg_switch_wal() TO <role>)` };
    }
    throw err;
  }
  const started = performance.now();
  const key = sidecarKey(systemId, segment);
  for (;;) {
    if (await repo.exists(key)) return { done: true, segment, seconds: (performance.now() - started) / 1000 };
    const seconds = (performance.now() - started) / 1000;
    if (seconds * 1000 >= timeoutMs || signal?.aborted) return { done: false, segment, seconds };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
