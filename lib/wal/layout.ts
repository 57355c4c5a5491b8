// Where WAL lives in a repository, and the sidecar that vouches for each archived file.
//
//   wal/<system identifier>/<name>[.gz|.br]     the file as PostgreSQL handed it over, compressed or not
//   wal/<system identifier>/<name>.json         the sidecar, written last: the file is archived only once it exists
//
// The sidecar records the sha256 and size of the uncompressed file, so that fetch can verify what it restores and a
// second push can tell "the same file again" from "a different file under the same name". An uncompressed data file
// is a plain WAL file (cp it into pg_wal in an emergency); sha256sum of it must print the sidecar's sha256.

export const COMPRESSIONS = ['none', 'gzip', 'brotli'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

const EXTENSION: Record<Compression, string> = { none: '', gzip: '.gz', brotli: '.br' };
export const SIDECAR_SUFFIX = '.json';
export const SIDECAR_FORMAT = 'pgops-wal';

// What a sidecar says about one archived WAL file.
export interface Sidecar {
  format: typeof SIDECAR_FORMAT;
  version: 1;
  name: string;
  systemIdentifier: string;
  /** size and sha256 of the WAL file itself (uncompressed) */
  size: number;
  sha256: string;
  compression: Compression;
  /** the data object's name in the folder and its size as stored */
  stored: string;
  storedSize: number;
  pushedAt: string;
}

// The repository folder of one database system's WAL.
export function walFolder(systemIdentifier: string): string {
  return `wal/${systemIdentifier}`;
}

// The key of a WAL file's data object.
export function dataKey(systemIdentifier: string, name: string, compression: Compression): string {
  return `${walFolder(systemIdentifier)}/${name}${EXTENSION[compression]}`;
}

// The key of a WAL file's sidecar.
export function sidecarKey(systemIdentifier: string, name: string): string {
  return `${walFolder(systemIdentifier)}/${name}${SIDECAR_SUFFIX}`;
}

// Reads and checks a sidecar; throws naming what is wrong.
export function parseSidecar(text: string, name: string): Sidecar {
  let doc: Partial<Sidecar>;
  try {
    doc = JSON.parse(text) as Partial<Sidecar>;
  } catch {
    throw new Error(`the sidecar of ${name} is not JSON`);
  }
  if (doc.format !== SIDECAR_FORMAT || doc.version !== 1) throw new Error(`the sidecar of ${name} is not a ${SIDECAR_FORMAT} version 1 sidecar`);
  if (doc.name !== name) throw new Error(`the sidecar of ${name} names ${String(doc.name)}`);
  if (!/^[0-9a-f]{64}$/.test(String(doc.sha256)) || !Number.isInteger(doc.size) || (doc.size as number) < 0) throw new Error(`the sidecar of ${name} has no valid sha256 and size`);
  if (!COMPRESSIONS.includes(doc.compression as Compression)) throw new Error(`the sidecar of ${name} names an unknown compression "${String(doc.compression)}"`);
  if (doc.stored !== `${name}${EXTENSION[doc.compression as Compression]}`) throw new Error(`the sidecar of ${name} points at "${String(doc.stored)}"`);
  return doc as Sidecar;
}

// The sidecar as stored: one JSON object and a newline.
export function encodeSidecar(s: Sidecar): string {
  return JSON.stringify(s) + '\n';
}

// What one key in a WAL folder is: the sidecar or the data object of a WAL file name; undefined for anything else.
export function classifyKey(fileName: string): { name: string; role: 'sidecar' } | { name: string; role: 'data'; compression: Compression } | undefined {
  if (fileName.endsWith(SIDECAR_SUFFIX)) return { name: fileName.slice(0, -SIDECAR_SUFFIX.length), role: 'sidecar' };
  for (const c of COMPRESSIONS) {
    if (c !== 'none' && fileName.endsWith(EXTENSION[c])) return { name: fileName.slice(0, -EXTENSION[c].length), role: 'data', compression: c };
  }
  if (fileName.startsWith('.')) return undefined;
  return { name: fileName, role: 'data', compression: 'none' };
}
