import { decryptBytes, encryptBytes, type Identity, type Recipient } from '../age/index.ts';
import { REPO_FILE } from './identity.ts';
import { LEASE_FILE, MANIFEST_FILE, SIDECAR_SUFFIX } from './layout.ts';

// Which objects of an encrypted repository are stored how, in one table:
//   plain   read without a key: what listing, status, prune and verify need (the marker, leases, WAL sidecars, a
//           base backup's manifest: ids, sizes, times, LSNs, sha256s of what is stored);
//   sealed  a JSON document whose listed fields stay plain and whose others (table names, row counts, content
//           hashes, the catalogue inventory, a drill's checks) are one age file in its `sealed` field;
//   age     everything else: the whole object is an age file (dumps, globals, base backup archives, WAL, archived
//           partitions).
// A key no rule names is encrypted whole: a new kind of object is secret until it is listed here.

export type Storage = { kind: 'plain' } | { kind: 'sealed'; document: string; plain: readonly string[] } | { kind: 'age' };

const SET_MANIFEST_PLAIN = ['format', 'manifestVersion', 'backupId', 'database', 'tool', 'server', 'pgDump', 'startedAt', 'finishedAt', 'durationMs', 'snapshot', 'files', 'totalSize', 'label', 'pinnedUntil'] as const;
const DRILL_PLAIN = ['format', 'reportVersion', 'drillId', 'database', 'backupId', 'result', 'startedAt', 'finishedAt', 'kept', 'rtoMs', 'rpoMs', 'tool'] as const;
const PITR_DRILL_PLAIN = ['format', 'reportVersion', 'drillId', 'systemIdentifier', 'backupId', 'result', 'startedAt', 'finishedAt', 'archiveEnd', 'replay', 'durations', 'rtoMs', 'rpoMs', 'limits', 'tool'] as const;

const RULES: { test: RegExp; storage: Storage }[] = [
  { test: new RegExp(`^${escape(REPO_FILE)}$`), storage: { kind: 'plain' } },
  { test: new RegExp(`^(backups|basebackups)/[^/]+/[^/]+/${escape(LEASE_FILE)}$`), storage: { kind: 'plain' } },
  { test: new RegExp(`^basebackups/[^/]+/[^/]+/${escape(MANIFEST_FILE)}$`), storage: { kind: 'plain' } },
  { test: new RegExp(`^backups/[^/]+/[^/]+/${escape(MANIFEST_FILE)}$`), storage: { kind: 'sealed', document: 'backup manifest', plain: SET_MANIFEST_PLAIN } },
  { test: new RegExp(`^wal/[^/]+/[^/]+${escape(SIDECAR_SUFFIX)}$`), storage: { kind: 'plain' } },
  { test: /^drills\/@[^/]+\/[^/]+\.json$/, storage: { kind: 'sealed', document: 'point-in-time drill report', plain: PITR_DRILL_PLAIN } },
  { test: /^drills\/[^/]+\/[^/]+\.json$/, storage: { kind: 'sealed', document: 'drill report', plain: DRILL_PLAIN } },
];

// How key is stored in an encrypted repository.
export function storageOf(key: string): Storage {
  return RULES.find((r) => r.test.test(key))?.storage ?? { kind: 'age' };
}

// The field that holds a sealed document's secret fields: base64 of an age file of their JSON.
export const SEALED_FIELD = 'sealed';

// The document as stored: its plain fields, and the others sealed.
export function sealDocument(doc: Record<string, unknown>, plain: readonly string[], recipients: Recipient[]): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  const hidden: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) (plain.includes(k) ? shown : hidden)[k] = v;
  if (Object.keys(hidden).length === 0) return shown;
  return { ...shown, [SEALED_FIELD]: encryptBytes(JSON.stringify(hidden), recipients).toString('base64') };
}

// The whole document back (throws the age error of a wrong key or a changed seal); one without a seal as it is.
export function openDocument(stored: Record<string, unknown>, identities: Identity[]): Record<string, unknown> {
  const sealed = stored[SEALED_FIELD];
  if (typeof sealed !== 'string') return stored;
  const { [SEALED_FIELD]: _, ...shown } = stored;
  const hidden = JSON.parse(decryptBytes(Buffer.from(sealed, 'base64'), identities).toString('utf8')) as Record<string, unknown>;
  return { ...shown, ...hidden };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
