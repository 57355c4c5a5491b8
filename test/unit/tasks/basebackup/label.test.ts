import { describe, expect, it } from 'vitest';
import { backupHistoryFileName, backupWal, missingFromTar, parseBackupLabel, parseBackupManifestFacts } from '../../../../lib/tasks/basebackup/label.ts';

const MB = 1024 * 1024;

// backup_label and backup_manifest as pg_basebackup 15 writes them.
const LABEL = `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
CHECKPOINT LOCATION: 0/2000060
BACKUP METHOD: streamed
BACKUP FROM: primary
START TIME: 2026-12-01 13:01:00 UTC
LABEL: pgops 20261201T130100Z
START TIMELINE: 1
`;

function manifest(ranges: { Timeline: number; 'Start-LSN': string; 'End-LSN': string }[], files = [{ Path: 'backup_label', Size: 227 }, { Path: 'global/pg_control', Size: 8192 }]): string {
  return JSON.stringify({ 'PostgreSQL-Backup-Manifest-Version': 1, Files: files.map((f) => ({ ...f, 'Last-Modified': '2026-12-01 13:01:00 GMT', 'Checksum-Algorithm': 'SHA256', Checksum: '00' })), 'WAL-Ranges': ranges, 'Manifest-Checksum': '00' });
}

describe('backup_label', () => {
  it('gives where and when the backup started, on which timeline, from which server', () => {
    expect(parseBackupLabel(LABEL)).toEqual({
      startLsn: '0/2000028',
      startSegment: '000000010000000000000002',
      startTime: '2026-12-01 13:01:00 UTC',
      startTimeline: 1,
      backupFrom: 'primary',
      label: 'pgops 20261201T130100Z',
    });
    expect(parseBackupLabel(LABEL.replace('BACKUP FROM: primary', 'BACKUP FROM: standby')).backupFrom).toBe('standby');
  });

  it('refuses a label without the lines recovery needs, naming the line', () => {
    expect(() => parseBackupLabel(LABEL.replace(/^START TIMELINE.*$/m, ''))).toThrow(/backup_label has no START TIMELINE line/);
    expect(() => parseBackupLabel(LABEL.replace('(file 000000010000000000000002)', ''))).toThrow(/START WAL LOCATION "0\/2000028" is not "LSN \(file NAME\)"/);
    expect(() => parseBackupLabel(LABEL.replace('BACKUP FROM: primary', 'BACKUP FROM: elsewhere'))).toThrow(/neither primary nor standby/);
    expect(() => parseBackupLabel(LABEL.replace('START TIMELINE: 1', 'START TIMELINE: 0'))).toThrow(/is not a timeline/);
  });

  it('names the backup history file the server archives at the stop', () => {
    expect(backupHistoryFileName(parseBackupLabel(LABEL), 16 * MB)).toBe('000000010000000000000002.00000028.backup');
    const deep = parseBackupLabel(LABEL.replace('0/2000028 (file 000000010000000000000002)', '16/B374D848 (file 0000000100000016000000B3)'));
    expect(backupHistoryFileName(deep, 16 * MB)).toBe('0000000100000016000000B3.0074D848.backup');
  });
});

describe('backup_manifest', () => {
  it('gives the WAL ranges and every file with its size', () => {
    const facts = parseBackupManifestFacts(manifest([{ Timeline: 1, 'Start-LSN': '0/2000028', 'End-LSN': '0/2000100' }]));
    expect(facts.walRanges).toEqual([{ timeline: 1, startLsn: '0/2000028', endLsn: '0/2000100' }]);
    expect([...facts.files]).toEqual([['backup_label', 227], ['global/pg_control', 8192]]);
  });

  it('decodes hex-encoded paths', () => {
    const text = JSON.stringify({ 'PostgreSQL-Backup-Manifest-Version': 1, Files: [{ 'Encoded-Path': Buffer.from('base/1/odd').toString('hex'), Size: 3 }], 'WAL-Ranges': [{ Timeline: 1, 'Start-LSN': '0/1', 'End-LSN': '0/2' }] });
    expect([...parseBackupManifestFacts(text).files]).toEqual([['base/1/odd', 3]]);
  });

  it('refuses what is not a version 1 manifest with WAL ranges', () => {
    expect(() => parseBackupManifestFacts('{')).toThrow(/backup_manifest is not valid JSON/);
    expect(() => parseBackupManifestFacts(JSON.stringify({ 'PostgreSQL-Backup-Manifest-Version': 2 }))).toThrow(/has version 2, not 1/);
    expect(() => parseBackupManifestFacts(manifest([]))).toThrow(/lists no WAL-Ranges/);
    expect(() => parseBackupManifestFacts(manifest([{ Timeline: 1, 'Start-LSN': 'x', 'End-LSN': '0/1' }]))).toThrow(/invalid LSN/);
  });
});

describe('the WAL a base backup needs', () => {
  const label = parseBackupLabel(LABEL);

  it('runs from the start segment to the one holding the last byte before the End-LSN', () => {
    const wal = backupWal(label, parseBackupManifestFacts(manifest([{ Timeline: 1, 'Start-LSN': '0/2000028', 'End-LSN': '0/2000100' }])), 16 * MB);
    expect(wal).toEqual({ start: { lsn: '0/2000028', segment: '000000010000000000000002', timeline: 1 }, stop: { lsn: '0/2000100', segment: '000000010000000000000002', timeline: 1 } });
    // a stop exactly at a segment boundary needs the segment before it
    const edge = backupWal(label, parseBackupManifestFacts(manifest([{ Timeline: 1, 'Start-LSN': '0/2000028', 'End-LSN': '0/4000000' }])), 16 * MB);
    expect(edge.stop.segment).toBe('000000010000000000000003');
  });

  it('ends on the last range\'s timeline when a standby was promoted during the backup', () => {
    const wal = backupWal(label, parseBackupManifestFacts(manifest([
      { Timeline: 1, 'Start-LSN': '0/2000028', 'End-LSN': '0/3000A00' },
      { Timeline: 2, 'Start-LSN': '0/3000A00', 'End-LSN': '0/3001000' },
    ])), 16 * MB);
    expect(wal.stop).toEqual({ lsn: '0/3001000', segment: '000000020000000000000003', timeline: 2 });
  });

  it('refuses a label and a manifest that disagree', () => {
    expect(() => backupWal(label, parseBackupManifestFacts(manifest([{ Timeline: 1, 'Start-LSN': '0/2000030', 'End-LSN': '0/2000100' }])), 16 * MB)).toThrow(/WAL range starts at 0\/2000030 on timeline 1, backup_label at 0\/2000028/);
    expect(() => backupWal(label, parseBackupManifestFacts(manifest([{ Timeline: 1, 'Start-LSN': '0/2000028', 'End-LSN': '0/2000000' }])), 16 * MB)).toThrow(/End-LSN 0\/2000000 lies before the start/);
    // 64 MB segments: 0/2000028 lies in segment 0, not in the 000000010000000000000002 the label names
    expect(() => backupWal(label, parseBackupManifestFacts(manifest([{ Timeline: 1, 'Start-LSN': '0/2000028', 'End-LSN': '0/2000100' }])), 64 * MB)).toThrow(/lies in 000000010000000000000000 \(wal_segment_size 67108864\)/);
  });
});

describe('the tar against backup_manifest', () => {
  const facts = parseBackupManifestFacts(manifest([{ Timeline: 1, 'Start-LSN': '0/1', 'End-LSN': '0/2' }]));

  it('finds nothing missing when every listed file is there with its size', () => {
    expect(missingFromTar(facts, new Map([['backup_label', 227], ['global/pg_control', 8192], ['backup_manifest', 900]]))).toBeUndefined();
  });

  it('names files missing or of another size', () => {
    expect(missingFromTar(facts, new Map([['backup_label', 200]]))).toBe('backup_label has 200 bytes, backup_manifest lists 227; global/pg_control is missing');
  });
});
