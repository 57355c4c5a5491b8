import { createHash } from 'node:crypto';
import { BASEBACKUP_MANIFEST_FORMAT, BASEBACKUP_MANIFEST_VERSION, type BaseBackupManifest } from '../../lib/repo/basebackup-manifest.ts';
import { backupIdTime, basebackupManifestKey, basebackupPrefix, dataKey, sidecarKey } from '../../lib/repo/layout.ts';
import type { Repo } from '../../lib/repo/repo.ts';

// Synthetic base backups and archived WAL files written straight into a repository: retention and listing tests need
// no server. Nothing here is restorable; only the repository's shape is real.

const sha = (data: string) => createHash('sha256').update(data).digest('hex');

// A base backup folder: base.tar and backup_manifest, and (unless complete: false) a manifest listing them whose WAL
// starts at `start` (a segment name) on the start segment's timeline.
export async function writeBaseBackup(
  repo: Repo,
  systemIdentifier: string,
  id: string,
  o: { start: string; last?: string; complete?: boolean; label?: string; pinnedUntil?: string; manifest?: Partial<BaseBackupManifest> },
): Promise<void> {
  const prefix = basebackupPrefix(systemIdentifier, id);
  const files: Record<string, string> = { 'base.tar': `tar of ${systemIdentifier} ${id}\n`.repeat(40), backup_manifest: '{"PostgreSQL-Backup-Manifest-Version": 1}\n' };
  for (const [name, data] of Object.entries(files)) await repo.putBytes(prefix + name, data);
  if (o.complete === false) return;
  const time = backupIdTime(id)!.toISOString();
  const timeline = parseInt(o.start.slice(0, 8), 16);
  const list = Object.entries(files).map(([p, data]) => ({ path: p, size: Buffer.byteLength(data), sha256: sha(data) }));
  const manifest: BaseBackupManifest = {
    format: BASEBACKUP_MANIFEST_FORMAT,
    manifestVersion: BASEBACKUP_MANIFEST_VERSION,
    backupId: id,
    systemIdentifier,
    tool: { name: 'pgops', version: 'test' },
    server: { version: '15.18', versionNum: 150018, inRecovery: false },
    pgBasebackup: { version: '15.18' },
    compression: 'none',
    startedAt: time,
    finishedAt: time,
    durationMs: 1000,
    timeline,
    start: { lsn: '0/2000028', segment: o.start, time },
    stop: { lsn: '0/2000100', segment: o.last ?? o.start, time },
    wal: { first: o.start, last: o.last ?? o.start },
    backupLabel: `START WAL LOCATION: 0/2000028 (file ${o.start})\n`,
    tarSize: Buffer.byteLength(files['base.tar']),
    files: list,
    totalSize: list.reduce((s, f) => s + f.size, 0),
    ...(o.label !== undefined ? { label: o.label } : {}),
    ...(o.pinnedUntil !== undefined ? { pinnedUntil: o.pinnedUntil } : {}),
    ...o.manifest,
  };
  await repo.putBytes(basebackupManifestKey(systemIdentifier, id), JSON.stringify(manifest));
}

// An archived WAL file as wal push leaves it: the data object (gzip-named, so no segment size is checked) and its
// sidecar; sidecar: false leaves the sidecar out (a push that died half-way).
export async function writeWalFile(repo: Repo, systemIdentifier: string, name: string, o: { sidecar?: boolean } = {}): Promise<void> {
  const data = `wal ${name}\n`;
  await repo.putBytes(dataKey(systemIdentifier, name, 'gzip'), data);
  if (o.sidecar === false) return;
  await repo.putBytes(
    sidecarKey(systemIdentifier, name),
    JSON.stringify({ format: 'pgops-wal', version: 1, name, systemIdentifier, size: data.length, sha256: sha(data), compression: 'gzip', stored: `${name}.gz`, storedSize: data.length, pushedAt: new Date(0).toISOString() }) + '\n',
  );
}

// The names of segments from..to (segment numbers, 16 MB segments) on a timeline.
export function segmentNames(timeline: number, from: number, to: number): string[] {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  const out: string[] = [];
  for (let n = from; n <= to; n++) out.push(hex(timeline) + hex(Math.floor(n / 256)) + hex(n % 256));
  return out;
}
