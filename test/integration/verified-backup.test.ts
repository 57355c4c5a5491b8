import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgopsError } from '../../lib/errors.ts';
import { FileRepo } from '../../lib/repo/file.ts';
import { findSet } from '../../lib/repo/sets.ts';
import { writeDrill, writeSet } from '../support/backup-sets.ts';
import { jsonData, runCli } from '../support/cli.ts';
import { tempFileRepo } from '../support/repo.ts';

// "verified" is the newest complete set whose newest drill passed: a later failing drill withdraws it; a drill that
// could not run to the end (result error) proves nothing either way.

const NOW = new Date('2026-11-22T12:00:00Z');
const A = '20261120T031700Z';
const B = '20261121T031700Z';
const C = '20261122T031700Z';

let root: string;
let repo: FileRepo;
let url: string;

beforeEach(async () => {
  ({ root, repo, url } = await tempFileRepo('pgops-verified-'));
  for (const id of [A, B, C]) await writeSet(repo, 'app', id);
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli([...args, '--repo', url], {}, () => NOW);

describe('--backup verified', () => {
  it('is not a set whose newest drill failed: it is an older set whose newest drill passed', async () => {
    await writeDrill(repo, 'app', '20261120T050000Z', A, 'pass');
    await writeDrill(repo, 'app', '20261121T050000Z', B, 'pass');
    await writeDrill(repo, 'app', '20261122T050000Z', B, 'fail');
    expect((await findSet(repo, 'app', 'verified')).id).toBe(A);
  });

  it('is not found when the only drill-proved set failed its newest drill', async () => {
    await writeDrill(repo, 'app', '20261121T050000Z', B, 'pass');
    await writeDrill(repo, 'app', '20261122T050000Z', B, 'fail');
    const err = await findSet(repo, 'app', 'verified').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgopsError);
    expect((err as PgopsError).code).toBe(5);
    expect((err as PgopsError).message).toContain('no backup of database "app" has passed its newest restore drill');
  });

  it('stays verified when a drill after the pass could not run to the end', async () => {
    await writeDrill(repo, 'app', '20261121T050000Z', B, 'pass');
    await writeDrill(repo, 'app', '20261122T050000Z', B, 'error');
    expect((await findSet(repo, 'app', 'verified')).id).toBe(B);
  });

  it('is what prune protects and what backups list marks verified', async () => {
    await writeDrill(repo, 'app', '20261120T050000Z', A, 'pass');
    await writeDrill(repo, 'app', '20261121T050000Z', B, 'pass');
    await writeDrill(repo, 'app', '20261122T050000Z', B, 'fail');

    const list = await cli('backups', 'list', '--json');
    expect(jsonData(list.stdout).sets.map((s: { backupId: string; drill: { result: string } | null; verified: boolean }) => [s.backupId, s.drill?.result ?? null, s.verified])).toEqual([
      [C, null, false],
      [B, 'fail', false],
      [A, 'pass', true],
    ]);

    const p = await cli('prune', '--keep-last', '1', '--execute', '--json');
    expect(p.exitCode).toBe(0);
    expect(jsonData(p.stdout).databases[0].decisions.map((d: { id: string; action: string; reasons: string[] }) => [d.id, d.action, d.reasons])).toEqual([
      [C, 'keep', ['last 1/1', 'newest complete']],
      [B, 'delete', ['no rule keeps it']],
      [A, 'keep', ['newest drill-verified']],
    ]);
  });
});
