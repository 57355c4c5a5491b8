import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manifestKey } from '../../lib/repo/layout.ts';
import type { FileRepo } from '../../lib/repo/file.ts';
import { writeSet } from '../support/backup-sets.ts';
import { jsonData, runCli } from '../support/cli.ts';
import { tempFileRepo } from '../support/repo.ts';
import { segmentNames, writeBaseBackup, writeWalFile } from '../support/synthetic-basebackups.ts';

// backups list and repo info over synthetic sets and base backups: labels, pins and base backups per system.
const NOW = new Date('2026-11-22T12:00:00Z');
const S = '7300000000000000000';
let root: string;
let repo: FileRepo;
let url: string;
const cli = (...args: string[]) => runCli([...args, '--repo', url], {}, () => NOW);

beforeEach(async () => {
  ({ root, repo, url } = await tempFileRepo('pgops-list-'));
  await writeSet(repo, 'app', '20261121T031700Z');
  await writeSet(repo, 'app', '20261122T031700Z');
  const file = path.join(root, manifestKey('app', '20261121T031700Z'));
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), label: 'pre-migration-42', pinnedUntil: '2026-12-21T03:17:00.000Z' }));
  await writeBaseBackup(repo, S, '20261120T031700Z', { start: '000000010000000000000003', label: 'weekly', pinnedUntil: '2026-11-21T00:00:00.000Z' });
  await writeBaseBackup(repo, S, '20261122T031700Z', { start: '000000010000000000000006', last: '000000010000000000000007', label: 'pre-migration-42', pinnedUntil: '2026-12-22T03:17:00.000Z' });
  await writeBaseBackup(repo, S, '20261122T100000Z', { start: '000000010000000000000009', complete: false });
  for (const name of segmentNames(1, 3, 9)) await writeWalFile(repo, S, name);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('backups list', () => {
  it('shows each set’s label and pin, and the base backups per system', async () => {
    const r = await cli('backups', 'list');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^DATABASE\s+BACKUP ID\s+STATUS\s+SIZE\s+DURATION\s+DRILL\s+LABEL\s+PINNED UNTIL\s+SNAPSHOT$/m);
    expect(r.stdout).toMatch(/^app\s+20261121T031700Z\s+complete\s+.*\s+pre-migration-42\s+2026-12-21T03:17:00Z\s+2026-11-21T03:17:00\.000Z$/m);
    expect(r.stdout).toMatch(/^app\s+20261122T031700Z\s+complete\s+.*\s+-\s+-\s+2026-11-22/m);
    expect(r.stdout).toMatch(/^SYSTEM\s+BASE BACKUP ID\s+STATUS\s+SIZE\s+TIMELINE\s+START LSN\s+STOP LSN\s+LABEL\s+PINNED UNTIL\s+CONSISTENT AT$/m);
    expect(r.stdout).toMatch(new RegExp(`^${S}\\s+20261122T100000Z\\s+incomplete\\s+.*no manifest`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${S}\\s+20261122T031700Z\\s+complete\\s+[\\d.]+ kB\\s+1\\s+0/2000028\\s+0/2000100\\s+pre-migration-42\\s+2026-12-22T03:17:00Z\\s+2026-11-22T03:17:00\\.000Z$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${S}\\s+20261120T031700Z\\s+complete\\s+.*\\s+weekly\\s+expired 2026-11-21T00:00:00Z\\s`, 'm'));
    expect(r.stdout).toContain(`3 base backup(s), 2 complete, in ${url}`);
  });

  it('adds label, pinnedUntil and pinned to each set, and basebackups, in --json', async () => {
    const data = jsonData((await cli('backups', 'list', '--json')).stdout);
    expect(data.sets.map((s: { backupId: string; label: string | null; pinnedUntil: string | null; pinned: boolean }) => [s.backupId, s.label, s.pinnedUntil, s.pinned])).toEqual([
      ['20261122T031700Z', null, null, false],
      ['20261121T031700Z', 'pre-migration-42', '2026-12-21T03:17:00.000Z', true],
    ]);
    expect(data.basebackups).toHaveLength(3);
    expect(data.basebackups[1]).toEqual({
      systemIdentifier: S,
      backupId: '20261122T031700Z',
      status: 'complete',
      size: expect.any(Number),
      timeline: 1,
      start: { lsn: '0/2000028', segment: '000000010000000000000006', time: '2026-11-22T03:17:00.000Z' },
      stop: { lsn: '0/2000100', segment: '000000010000000000000007', time: '2026-11-22T03:17:00.000Z' },
      wal: { first: '000000010000000000000006', last: '000000010000000000000007' },
      compression: 'none',
      label: 'pre-migration-42',
      pinnedUntil: '2026-12-22T03:17:00.000Z',
      pinned: true,
      problem: null,
    });
  });

  it('restores --backup label:NAME through restore’s own choice of set (exit 5 for an unknown label)', async () => {
    const r = await cli('restore', '--db', 'app', '--backup', 'label:no-such-label', '--to', 'postgresql://nobody@127.0.0.1:1/x', '--log-format', 'human');
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('no backup of database "app" is labelled "no-such-label"');
    expect(r.stderr).toContain('HINT: labels of its complete sets: pre-migration-42');
  });
});

describe('repo info', () => {
  it('mentions the base backups of each system, and WAL without a base backup to replay it onto', async () => {
    for (const name of segmentNames(1, 1, 2)) await writeWalFile(repo, '7400000000000000000', name);
    const r = await cli('repo', 'info');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^base backups of system ${S}: 3, 2 complete, 1 not complete, 1 pinned; newest complete 20261122T031700Z, oldest 20261120T031700Z; [\\d.]+ kB$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^wal of system ${S}: 7 file\\(s\\) from 000000010000000000000003 to 000000010000000000000009; [\\d.]+ kB$`, 'm'));
    expect(r.stdout).toMatch(/^wal of system 7400000000000000000: 2 file\(s\) .* \(no complete base backup to replay it onto\)$/m);
    const data = jsonData((await cli('repo', 'info', '--json')).stdout);
    expect(data.basebackups).toEqual([{ systemIdentifier: S, basebackups: 3, complete: 2, other: 1, oldest: '20261120T031700Z', newestComplete: '20261122T031700Z', pinned: 1, bytes: expect.any(Number) }]);
  });
});
