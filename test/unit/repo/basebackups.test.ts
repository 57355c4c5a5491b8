import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BASEBACKUP_MANIFEST_FORMAT, parseBaseBackupManifest, baseTarName } from '../../../lib/repo/basebackup-manifest.ts';
import { baseBackupSystem, chooseBaseBackup, listBaseBackups } from '../../../lib/repo/basebackups.ts';
import { basebackupManifestKey, basebackupOfKey, basebackupPrefix, pitrDrillKey } from '../../../lib/repo/layout.ts';
import type { FileRepo } from '../../../lib/repo/file.ts';
import { createHash } from 'node:crypto';
import { madeUpBaseBackupManifest } from '../../support/manifest.ts';
import { tempFileRepo } from '../../support/repo.ts';

const SYS = '7300000000000000000';
let root: string | undefined;

afterEach(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
  root = undefined;
});

// Stores a base backup with one file (base.tar) and, unless told otherwise, its manifest.
async function store(repo: FileRepo, id: string, over: { stopTime?: string; label?: string; manifest?: boolean; wrongSize?: boolean } = {}) {
  const data = Buffer.from(`tar of ${id}`);
  const sha256 = createHash('sha256').update(data).digest('hex');
  await repo.putBytes(basebackupPrefix(SYS, id) + 'base.tar', data);
  const m = madeUpBaseBackupManifest({
    backupId: id,
    stop: { lsn: '0/3000100', segment: '000000010000000000000003', time: over.stopTime ?? '2026-11-22T03:17:02.000Z' },
    files: [{ path: 'base.tar', size: data.length + (over.wrongSize ? 1 : 0), sha256 }],
    totalSize: data.length,
    label: over.label,
  });
  if (over.manifest !== false) await repo.putBytes(basebackupManifestKey(SYS, id), JSON.stringify(m));
}

describe('base backups in a repository', () => {
  it('keeps them in basebackups/<system>/<id>/ and reads keys back', () => {
    expect(basebackupPrefix(SYS, '20261122T031700Z')).toBe(`basebackups/${SYS}/20261122T031700Z/`);
    expect(basebackupOfKey(`basebackups/${SYS}/20261122T031700Z/base.tar`)).toEqual({ systemIdentifier: SYS, id: '20261122T031700Z' });
    expect(basebackupOfKey(`basebackups/${SYS}/latest/base.tar`)).toBeUndefined();
    expect(basebackupOfKey(`backups/app/20261122T031700Z/dump`)).toBeUndefined();
    expect(pitrDrillKey(SYS, '20261123T000000Z')).toBe(`drills/@${SYS}/20261123T000000Z.json`);
    expect(baseTarName('zstd:3')).toBe('base.tar.zst');
    expect(() => baseTarName('brotli')).toThrow(/unknown base backup compression/);
  });

  it('lists them newest first: complete, incomplete without a manifest, damaged when a file has another size', async () => {
    const t = await tempFileRepo('pgops-bb-');
    root = t.root;
    await store(t.repo, '20261120T000000Z');
    await store(t.repo, '20261121T000000Z', { wrongSize: true });
    await store(t.repo, '20261122T000000Z', { manifest: false });
    const list = await listBaseBackups(t.repo);
    expect(list.map((b) => [b.id, b.status])).toEqual([
      ['20261122T000000Z', 'incomplete'],
      ['20261121T000000Z', 'damaged'],
      ['20261120T000000Z', 'complete'],
    ]);
    expect(list[1].problem).toMatch(/base.tar has \d+ bytes, the manifest lists \d+/);
    expect(await baseBackupSystem(t.repo, undefined)).toBe(SYS);
  });

  it('chooses latest, the newest that ended before a target, an id, or a label; never one that is not complete', async () => {
    const t = await tempFileRepo('pgops-bb-');
    root = t.root;
    await store(t.repo, '20261120T000000Z', { stopTime: '2026-11-20T00:00:05.000Z', label: 'pre-migration-42' });
    await store(t.repo, '20261121T000000Z', { stopTime: '2026-11-21T00:00:05.000Z' });
    await store(t.repo, '20261122T000000Z', { manifest: false });
    const list = await listBaseBackups(t.repo, SYS);
    expect(chooseBaseBackup(list, 'latest', 'here').id).toBe('20261121T000000Z');
    const before = (b: { manifest: { stop: { time: string } } }) => new Date(b.manifest.stop.time) <= new Date('2026-11-20T12:00:00Z');
    expect(chooseBaseBackup(list, 'latest', 'here', before).id).toBe('20261120T000000Z');
    expect(() => chooseBaseBackup(list, 'latest', 'here', () => false)).toThrow(/no complete base backup in here ended before the recovery target/);
    expect(chooseBaseBackup(list, 'label:pre-migration-42', 'here').id).toBe('20261120T000000Z');
    expect(() => chooseBaseBackup(list, 'label:nope', 'here')).toThrow(/no base backup labelled "nope" exists/);
    expect(() => chooseBaseBackup(list, '20261122T000000Z', 'here')).toThrow(/is incomplete: no manifest/);
    expect(() => chooseBaseBackup(list, '20261119T000000Z', 'here')).toThrow(/does not exist/);
  });

  it('refuses a manifest that is not a base backup manifest, or lists a path outside its folder', () => {
    const m = madeUpBaseBackupManifest();
    expect(parseBaseBackupManifest(JSON.stringify(m), 'x').format).toBe(BASEBACKUP_MANIFEST_FORMAT);
    expect(() => parseBaseBackupManifest('{', 'x')).toThrow(/not valid JSON/);
    expect(() => parseBaseBackupManifest(JSON.stringify({ ...m, format: 'other' }), 'x')).toThrow(/not a pgops base backup manifest/);
    const outside = { ...m, files: [{ path: '../../etc/hostname', size: 1, sha256: 'a'.repeat(64) }] };
    expect(() => parseBaseBackupManifest(JSON.stringify(outside), 'x')).toThrow(/outside its set/);
  });
});
