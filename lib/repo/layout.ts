// Where everything lives in a repository: the one place that builds and reads its keys.
//
//   pgops-repo.json                                    the repository's identity (lib/repo/identity.ts)
//   backups/<database folder>/<backup id>/manifest.json  written last: the set exists only when it does (manifest.ts)
//   backups/<database folder>/<backup id>/lease.json     held by the running backup (lease.ts)
//   backups/<database folder>/<backup id>/<files>        globals.sql, dump[/...]: what the manifest lists
//   drills/<database folder>/<drill id>.json           drill reports (drill-reports.ts)
//   wal/<system identifier>/<name>[.gz|.br]            a WAL file as PostgreSQL handed it over, compressed or not
//   wal/<system identifier>/<name>.json                its sidecar, written last: archived only once it exists
//                                                      (wal-sidecar.ts)
//   <folder>/.pgops-tmp-<name>-<pid>-<random>           a file repository's write in progress (durable-write.ts)
//
// A database folder is the database's name percent-encoded (dbFolder); a backup or drill id is a UTC timestamp that
// sorts in time order. An uncompressed WAL data object is a plain WAL file (cp it into pg_wal in an emergency).

export const MANIFEST_FILE = 'manifest.json';
export const LEASE_FILE = 'lease.json';
// The mark of a temp file beside the object a write in progress (or a crashed writer) will publish.
export const TEMP_MARK = '.pgops-tmp-';

// True for the temp files of writes in progress (or of crashed writers), and for every file in a temp folder (a
// file repository's scratch folder, which pg_basebackup writes into).
export function isTempKey(key: string): boolean {
  return key.split('/').some((part) => part.startsWith(TEMP_MARK));
}

const ID_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

// A backup id for a moment: a UTC timestamp that sorts in time order, e.g. 20261122T031700Z.
export function backupIdFor(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

// The moment a backup id names; undefined when the text is not a backup id.
export function backupIdTime(id: string): Date | undefined {
  const m = ID_RE.exec(id);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

// A database name as a repository folder: percent-encoded so any name is one safe path segment.
export function dbFolder(database: string): string {
  return encodeURIComponent(database).replace(/^\./, '%2E').replace(/\*/g, '%2A');
}

// The folder that holds the sets of one database (backups/<database folder>/), or of all (backups/).
export function setsFolder(database?: string): string {
  return database === undefined ? 'backups/' : `backups/${dbFolder(database)}/`;
}

// The folder of one set: backups/<database folder>/<backup id>/.
export function setPrefix(database: string, id: string): string {
  return `backups/${dbFolder(database)}/${id}/`;
}

// The key of a set's manifest.
export function manifestKey(database: string, id: string): string {
  return setPrefix(database, id) + MANIFEST_FILE;
}

// The key of a set's lease.
export function leaseKey(database: string, id: string): string {
  return setPrefix(database, id) + LEASE_FILE;
}

// The set a key below backups/ belongs to (folder: its database folder and id as stored), or undefined for a key
// that is no file of a set.
export function setOfKey(key: string): { database: string; id: string; folder: string } | undefined {
  const parts = key.split('/');
  if (parts.length < 4 || parts[0] !== 'backups' || !backupIdTime(parts[2])) return undefined;
  return { database: decodeURIComponent(parts[1]), id: parts[2], folder: `${parts[1]}/${parts[2]}` };
}

// The folder that holds the drill reports of one database (drills/<database folder>/), or of all (drills/).
export function drillsFolder(database?: string): string {
  return database === undefined ? 'drills/' : `drills/${dbFolder(database)}/`;
}

// Where a drill's report is stored: drills/<database folder>/<drill id>.json.
export function drillKey(database: string, drillId: string): string {
  return `drills/${dbFolder(database)}/${drillId}.json`;
}

export const COMPRESSIONS = ['none', 'gzip', 'brotli'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

const EXTENSION: Record<Compression, string> = { none: '', gzip: '.gz', brotli: '.br' };
export const SIDECAR_SUFFIX = '.json';

// The repository folder of one database system's WAL.
export function walFolder(systemIdentifier: string): string {
  return `wal/${systemIdentifier}`;
}

// The name of a WAL file's data object in its folder: the name, with the compression's extension.
export function storedName(name: string, compression: Compression): string {
  return `${name}${EXTENSION[compression]}`;
}

// The key of a WAL file's data object.
export function dataKey(systemIdentifier: string, name: string, compression: Compression): string {
  return `${walFolder(systemIdentifier)}/${storedName(name, compression)}`;
}

// The key of a WAL file's sidecar.
export function sidecarKey(systemIdentifier: string, name: string): string {
  return `${walFolder(systemIdentifier)}/${name}${SIDECAR_SUFFIX}`;
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

//   basebackups/<system identifier>/<backup id>/manifest.json   written last (basebackup-manifest.ts)
//   basebackups/<system identifier>/<backup id>/lease.json      held by the running basebackup
//   basebackups/<system identifier>/<backup id>/base.tar[.gz|.lz4|.zst], backup_manifest
//   drills/@<system identifier>/<drill id>.json                 point-in-time drill reports ("@" never begins a
//                                                               database folder: dbFolder encodes it as %40)

// The folder of one system's base backups (basebackups/<system identifier>/), or of all (basebackups/).
export function basebackupsFolder(systemIdentifier?: string): string {
  return systemIdentifier === undefined ? 'basebackups/' : `basebackups/${systemIdentifier}/`;
}

// The folder of one base backup: basebackups/<system identifier>/<backup id>/.
export function basebackupPrefix(systemIdentifier: string, id: string): string {
  return `basebackups/${systemIdentifier}/${id}/`;
}

// The key of a base backup's manifest.
export function basebackupManifestKey(systemIdentifier: string, id: string): string {
  return basebackupPrefix(systemIdentifier, id) + MANIFEST_FILE;
}

// The base backup a key below basebackups/ belongs to, or undefined for a key that is no file of one.
export function basebackupOfKey(key: string): { systemIdentifier: string; id: string } | undefined {
  const parts = key.split('/');
  if (parts.length < 4 || parts[0] !== 'basebackups' || !/^\d+$/.test(parts[1]) || !backupIdTime(parts[2])) return undefined;
  return { systemIdentifier: parts[1], id: parts[2] };
}

// The folder of one system's point-in-time drill reports: drills/@<system identifier>/.
export function pitrDrillsFolder(systemIdentifier: string): string {
  return `drills/@${systemIdentifier}/`;
}

// Where a point-in-time drill's report is stored: drills/@<system identifier>/<drill id>.json.
export function pitrDrillKey(systemIdentifier: string, drillId: string): string {
  return `${pitrDrillsFolder(systemIdentifier)}${drillId}.json`;
}
