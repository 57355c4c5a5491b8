import { COMPRESSIONS, storedName, type Compression } from './layout.ts';

// The sidecar that vouches for an archived WAL file (wal/<system identifier>/<name>.json, lib/repo/layout.ts). It
// records the sha256 and size of the uncompressed file, so that fetch can verify what it restores and a second push
// can tell "the same file again" from "a different file under the same name"; sha256sum of an uncompressed data
// object must print the sidecar's sha256.

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
  /** in an encrypted repository: size and sha256 of the age file stored as the data object (lib/repo/sealed.ts) */
  sealed?: { size: number; sha256: string };
  pushedAt: string;
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
  if (doc.stored !== storedName(name, doc.compression as Compression)) throw new Error(`the sidecar of ${name} points at "${String(doc.stored)}"`);
  return doc as Sidecar;
}

// The sidecar as stored: one JSON object and a newline.
export function encodeSidecar(s: Sidecar): string {
  return JSON.stringify(s) + '\n';
}
