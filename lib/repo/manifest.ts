import { ExitCode, PgopsError } from '../errors.ts';
import type { ColumnFingerprint } from '../pg/column-hash.ts';
import type { DatabaseProperties } from '../pg/database-properties.ts';
import type { Inventory } from '../pg/inventory.ts';
import { MANIFEST_FILE } from './layout.ts';

export const MANIFEST_FORMAT = 'pgops-backup-manifest';
export const MANIFEST_VERSION = 1;

export interface ManifestFile {
  /** relative to the set's folder: dump, globals.sql, dump/toc.dat, ... */
  path: string;
  /** size and sha256 of the file itself: what pg_dump wrote, what a restore reads */
  size: number;
  sha256: string;
  /** in an encrypted repository, size and sha256 of the age file stored for it (lib/repo/sealed.ts) */
  sealed?: { size: number; sha256: string };
}

// A manifest's entry for a file a put wrote.
export function fileEntry(path: string, put: { size: number; sha256: string; sealed?: { size: number; sha256: string } }): ManifestFile {
  return { path, size: put.size, sha256: put.sha256, ...(put.sealed ? { sealed: { size: put.sealed.size, sha256: put.sealed.sha256 } } : {}) };
}

// Size and sha256 of what is stored for a listed file: its age file in an encrypted repository, else the file.
export function storedDigest(f: ManifestFile): { size: number; sha256: string } {
  return f.sealed ?? f;
}

export interface TableFingerprint {
  schema: string;
  name: string;
  /** r (table), p (partitioned parent, no rows of its own) or m (materialized view) */
  kind: string;
  rows: number;
  /** order-independent content hash (fingerprint mode hash) */
  hash?: string;
  /** fingerprint mode hash (pgops-column-hash-v3): every column in name order, with its own content hash */
  columns?: ColumnFingerprint[];
  /** how an older pgops (pgops-row-hash-v2) hashed the rows */
  method?: 'record' | 'text';
}

// The commit marker of a backup set: written last, and readers trust nothing it does not list.
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  manifestVersion: number;
  backupId: string;
  database: string;
  tool: { name: 'pgops'; version: string };
  server: { version: string; versionNum: number; systemIdentifier: string | null; inRecovery: boolean };
  pgDump: { version: string; format: 'custom' | 'directory'; jobs: number; compress?: string };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  snapshot: { id: string; lsn: string; time: string };
  files: ManifestFile[];
  totalSize: number;
  fingerprints: { mode: 'hash' | 'count' | 'none'; tables: TableFingerprint[]; /** how hashes were computed (HASH_ALGORITHM) */ algorithm?: string };
  /** the catalogue inventory taken in the snapshot, which restore drills compare */
  inventory?: Inventory;
  /** what `restore --create` gives the new database (pg_restore --create's database entries), and drills check */
  databaseProperties?: DatabaseProperties;
  /** --label: restorable as --backup label:NAME */
  label?: string;
  /** --pin: no retention rule prunes the set before this moment (ISO 8601) */
  pinnedUntil?: string;
}

// Parses and checks a manifest's shape; a set whose manifest does not parse is treated as broken, never as complete.
export function parseManifest(text: string | Buffer, where: string): Manifest {
  let doc: Partial<Manifest>;
  try {
    doc = JSON.parse(String(text));
  } catch {
    throw new PgopsError(`manifest ${where} is not valid JSON`, { code: ExitCode.INTEGRITY, hint: 'the set is damaged: restore another backup id (pgops backups list)' });
  }
  const missing = ['backupId', 'database', 'files', 'snapshot', 'server', 'pgDump'].filter((k) => !(k in doc));
  if (doc.format !== MANIFEST_FORMAT || missing.length > 0 || !Array.isArray(doc.files)) {
    throw new PgopsError(`manifest ${where} is not a pgops manifest${missing.length ? ` (missing ${missing.join(', ')})` : ''}`, {
      code: ExitCode.INTEGRITY,
      hint: 'the set is damaged: restore another backup id (pgops backups list)',
    });
  }
  if ((doc.manifestVersion ?? 0) > MANIFEST_VERSION) {
    throw new PgopsError(`manifest ${where} has version ${doc.manifestVersion}, newer than this pgops reads (${MANIFEST_VERSION})`, {
      code: ExitCode.UNKNOWN,
      hint: 'upgrade pgops',
    });
  }
  for (const f of doc.files) {
    if (typeof f.path !== 'string' || typeof f.size !== 'number' || !/^[0-9a-f]{64}$/.test(String(f.sha256))) {
      throw new PgopsError(`manifest ${where} lists a file without path, size or sha256`, { code: ExitCode.INTEGRITY });
    }
  }
  return doc as Manifest;
}

// Why a listed path does not name a file inside its set, or undefined when it does: a set's files are named relative
// to its folder (dump, globals.sql, dump/toc.dat), so "/etc/hostname", "../../etc/hostname", "dump/./x" or
// "manifest.json" are the marks of a manifest that was edited or damaged.
export function outsideSet(filePath: string): string | undefined {
  if (filePath.startsWith('/')) return 'an absolute path';
  if (/[\\\0]/.test(filePath)) return 'a path with a backslash or NUL';
  const parts = filePath.split('/');
  if (parts.some((p) => p === '..')) return 'a path outside its set';
  if (parts.some((p) => p === '' || p === '.')) return 'a path with an empty or "." segment';
  if (filePath === MANIFEST_FILE) return 'the manifest itself';
  return undefined;
}

// What is wrong with the paths a manifest lists ("lists a path outside its set: ../../etc/hostname"), naming at
// most `limit` of them; undefined when every path names a file inside the set, once.
export function listedPathProblems(manifest: Pick<Manifest, 'files'>, limit = 5): string | undefined {
  const seen = new Set<string>();
  const wrong: string[] = [];
  for (const f of manifest.files) {
    const why = outsideSet(f.path);
    if (why) wrong.push(`the manifest lists ${why}: ${JSON.stringify(f.path)}`);
    else if (seen.has(f.path)) wrong.push(`the manifest lists ${f.path} twice`);
    seen.add(f.path);
  }
  if (wrong.length === 0) return undefined;
  return [...wrong.slice(0, limit), ...(wrong.length > limit ? [`and ${wrong.length - limit} more bad paths`] : [])].join('; ');
}
