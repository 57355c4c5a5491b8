import { ExitCode, messageOf, PgopsError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { dataKey } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import { keyless } from '../../repo/sealed.ts';
import type { Sidecar } from '../../repo/wal-sidecar.ts';
import { formatSize } from '../../units.ts';
import { parseWalFileName } from '../../wal/names.ts';
import { readSidecar } from '../wal/archived.ts';
import { checkObject, type FileOutcome } from './check-file.ts';
import type { Finding } from './grade.ts';
import type { CheckItem, SetFileCheck, WalFileCheck } from './plan.ts';

export interface CheckResults {
  findings: Finding[];
  /** bytes read and hashed */
  bytes: number;
  /** per system: the sizes segment sidecars list, each with how many and the first few names (the common one is the segment size) */
  segmentSizes: Map<string, SegmentSizes>;
}

export type SegmentSizes = Map<number, { count: number; names: string[] }>;

/** how many segment names are kept per size: enough to name the odd ones out */
const NAMES_PER_SIZE = 10;

interface RunOptions {
  parallel: number;
  signal?: AbortSignal;
  log: Logger;
}

// Runs fn over items, at most `limit` at a time, in list order; stops starting new ones once aborted.
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      signal?.throwIfAborted();
      await fn(items[next++]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

// The finding for a file read against what its manifest or sidecar lists; undefined when it matched.
function outcomeFinding(key: string, source: string, outcome: FileOutcome): Finding | undefined {
  switch (outcome.status) {
    case 'ok':
      return undefined;
    case 'missing':
      return { level: 2, kind: 'missing', key, text: `${key} is missing (listed in its ${source})` };
    case 'damaged':
      return { level: 2, kind: 'damaged', key, text: `${key} does not match its ${source}: ${outcome.detail}` };
    case 'unreadable':
      return { level: 3, kind: 'unreadable', key, text: `${key} could not be read: ${outcome.detail}` };
  }
}

// An encrypted repository is checked as stored, its age files against the sha256 their manifest or sidecar lists for
// them, which needs no key; with --deep (an identity given) each is decrypted and its plaintext checked instead, which
// also authenticates every chunk. A file without a sealed digest was stored before encryption: it is its own plaintext.
function asStored(repo: Repo): Repo | undefined {
  return keyless(repo) ? repo.raw : undefined;
}

// Reads one file of a set. A file gone together with its manifest was pruned while verify ran: that is no damage.
async function checkSetFile(repo: Repo, item: SetFileCheck, out: CheckResults, signal?: AbortSignal): Promise<void> {
  const raw = asStored(repo);
  const outcome = raw && item.sealed ? await checkObject(raw, item.key, item.sealed, 'none', signal) : await checkObject(raw ?? repo, item.key, item, 'none', signal);
  if (outcome.status === 'ok' || outcome.status === 'damaged') out.bytes += item.size;
  if (outcome.status === 'missing' && !(await repo.exists(item.manifestKey).catch(() => true))) {
    out.findings.push({ level: 0, kind: 'ok', key: item.key, text: `set ${item.set} was deleted while verify ran (its manifest is gone): not checked` });
    return;
  }
  const finding = outcomeFinding(item.key, 'manifest', outcome);
  if (finding) out.findings.push(finding);
}

// Reads a WAL file's sidecar, then the data object it names, decompressed, against the sidecar's size and sha256.
async function checkWalFile(repo: Repo, item: WalFileCheck, out: CheckResults, signal?: AbortSignal): Promise<void> {
  let sidecar: Sidecar | undefined;
  try {
    sidecar = await readSidecar(repo, item.systemId, item.name);
  } catch (err) {
    const damaged = err instanceof PgopsError && err.code === ExitCode.INTEGRITY;
    out.findings.push(damaged ? { level: 2, kind: 'damaged', key: item.sidecarKey, text: messageOf(err) } : { level: 3, kind: 'unreadable', key: item.sidecarKey, text: `${item.sidecarKey} could not be read: ${messageOf(err)}` });
    return;
  }
  if (!sidecar) {
    out.findings.push({ level: 2, kind: 'missing', key: item.sidecarKey, text: `${item.sidecarKey} is missing (it was listed a moment ago)` });
    return;
  }
  if (sidecar.systemIdentifier !== item.systemId) {
    out.findings.push({ level: 2, kind: 'damaged', key: item.sidecarKey, text: `${item.sidecarKey} names system ${sidecar.systemIdentifier}, not ${item.systemId} whose folder holds it` });
  }
  if (parseWalFileName(item.name)?.kind === 'segment') {
    const sizes = out.segmentSizes.get(item.systemId) ?? out.segmentSizes.set(item.systemId, new Map()).get(item.systemId)!;
    const entry = sizes.get(sidecar.size) ?? sizes.set(sidecar.size, { count: 0, names: [] }).get(sidecar.size)!;
    entry.count++;
    if (entry.names.length < NAMES_PER_SIZE) entry.names.push(item.name);
  }
  const key = dataKey(item.systemId, item.name, sidecar.compression);
  for (const other of item.data.filter((d) => d.key !== key)) {
    out.findings.push({ level: 1, kind: 'orphan', key: other.key, text: `${other.key} is not the data object its sidecar names (${sidecar.stored}): fetch never reads it` });
  }
  const stored = item.data.find((d) => d.key === key);
  if (!stored) {
    out.findings.push({ level: 2, kind: 'missing', key, text: `${key} is missing: its sidecar vouches for it, so fetch and recovery fail at ${item.name}` });
    return;
  }
  const listedSize = sidecar.sealed?.size ?? sidecar.storedSize;
  if (stored.size !== listedSize) {
    out.findings.push({ level: 2, kind: 'damaged', key, text: `${key} has ${stored.size} bytes stored, its sidecar lists ${listedSize}` });
    return;
  }
  const raw = asStored(repo);
  const outcome = raw && sidecar.sealed ? await checkObject(raw, key, sidecar.sealed, 'none', signal) : await checkObject(raw ?? repo, key, sidecar, sidecar.compression, signal);
  if (outcome.status === 'ok' || outcome.status === 'damaged') out.bytes += stored.size;
  const finding = outcomeFinding(key, 'sidecar', outcome);
  if (finding) out.findings.push(finding);
}

// Reads every planned file, `parallel` at a time, each streamed through its hash; a progress line on a TTY.
export async function runChecks(repo: Repo, items: readonly CheckItem[], o: RunOptions): Promise<CheckResults> {
  const out: CheckResults = { findings: [], bytes: 0, segmentSizes: new Map() };
  let done = 0;
  let shown = 0;
  await forEachLimit(
    items,
    o.parallel,
    async (item) => {
      if (item.kind === 'set') await checkSetFile(repo, item, out, o.signal);
      else await checkWalFile(repo, item, out, o.signal);
      done++;
      if (Date.now() - shown >= 1000) {
        shown = Date.now();
        o.log.progress(`verified ${done} of ${items.length} files, ${formatSize(out.bytes)}`);
      }
    },
    o.signal,
  );
  return out;
}
