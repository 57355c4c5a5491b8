import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileRepo } from '../../../../../lib/repo/file.ts';
import { baseBackupWindowStart } from '../../../../../lib/tasks/wal/check/backup-window.ts';
import { checkRepository } from '../../../../../lib/tasks/wal/check/repository.ts';
import { timelineChain } from '../../../../../lib/wal/history.ts';
import { tempFileRepo } from '../../../../support/repo.ts';
import { segmentNames, writeBaseBackup, writeWalFile } from '../../../../support/synthetic-basebackups.ts';

const SYS = '7300000000000000000';
const SEG = 16 * 1024 * 1024;
const NOW = new Date('2026-11-22T12:00:00Z');
let root: string;
let repo: FileRepo;

beforeEach(async () => {
  ({ root, repo } = await tempFileRepo('pgops-window-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('--wal-window backup', () => {
  it('starts at the oldest complete base backup’s start segment, skipping incomplete ones and other timelines', async () => {
    await writeBaseBackup(repo, SYS, '20261120T031700Z', { start: '000000010000000000000005' });
    await writeBaseBackup(repo, SYS, '20261121T031700Z', { start: '000000010000000000000008' });
    await writeBaseBackup(repo, SYS, '20261119T031700Z', { start: '000000010000000000000002', complete: false });
    await writeBaseBackup(repo, SYS, '20261118T031700Z', { start: '000000030000000000000001' });
    await writeBaseBackup(repo, `${SYS}1`, '20261117T031700Z', { start: '000000010000000000000001' });
    expect(await baseBackupWindowStart(repo, SYS, timelineChain([], 1), SEG)).toEqual({ start: 5, basis: 'the start of the oldest base backup 20261120T031700Z, 000000010000000000000005' });
    expect(await baseBackupWindowStart(repo, '7400000000000000000', timelineChain([], 1), SEG)).toBeUndefined();
  });

  it('checks continuity from there, not from the oldest .backup label, and finds a gap after it', async () => {
    // the archive holds segments 1..9 and an older backup label at 2; the only base backup kept starts at 5
    for (const name of segmentNames(1, 1, 9).filter((n) => !n.endsWith('07'))) await writeWalFile(repo, SYS, name);
    await writeWalFile(repo, SYS, '000000010000000000000002.00000028.backup');
    await writeBaseBackup(repo, SYS, '20261120T031700Z', { start: '000000010000000000000005' });
    const facts = await checkRepository(repo, { systemId: SYS, timeline: 1, segmentSize: SEG, lastArchived: '000000010000000000000009', window: { mode: 'backup' }, now: NOW });
    expect(facts.basis).toBe('the start of the oldest base backup 20261120T031700Z, 000000010000000000000005');
    expect(facts.continuity).toMatchObject({ first: '000000010000000000000005', last: '000000010000000000000009', expected: 5, missingCount: 1 });
    expect(facts.continuity!.missing).toEqual([{ first: '000000010000000000000007', last: '000000010000000000000007', count: 1 }]);
  });

  it('falls back to the oldest .backup label when there is no base backup', async () => {
    for (const name of segmentNames(1, 1, 4)) await writeWalFile(repo, SYS, name);
    await writeWalFile(repo, SYS, '000000010000000000000002.00000028.backup');
    const facts = await checkRepository(repo, { systemId: SYS, timeline: 1, segmentSize: SEG, lastArchived: '000000010000000000000004', window: { mode: 'backup' }, now: NOW });
    expect(facts.basis).toBe('the oldest base backup label 000000010000000000000002.00000028.backup');
    expect(facts.continuity).toMatchObject({ first: '000000010000000000000002', expected: 3, missingCount: 0 });
  });
});
