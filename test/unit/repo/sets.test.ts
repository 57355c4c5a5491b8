import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgopsError } from '../../../lib/errors.ts';
import { FileRepo } from '../../../lib/repo/file.ts';
import { manifestKey, setPrefix } from '../../../lib/repo/layout.ts';
import { findSet } from '../../../lib/repo/sets.ts';
import { writeSet } from '../../support/backup-sets.ts';
import { tempFileRepo } from '../../support/repo.ts';

let root: string;
let repo: FileRepo;

// Gives a written set a label, as pgops backup --label does in its manifest.
function label(database: string, id: string, name: string) {
  const file = path.join(root, manifestKey(database, id));
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), label: name }));
}

async function thrown(p: Promise<unknown>): Promise<PgopsError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(PgopsError);
  return err as PgopsError;
}

beforeEach(async () => {
  ({ root, repo } = await tempFileRepo('pgops-sets-'));
  for (const id of ['20261120T031700Z', '20261121T031700Z', '20261122T031700Z']) await writeSet(repo, 'app', id);
  await writeSet(repo, 'other', '20261122T031700Z');
  label('app', '20261120T031700Z', 'pre-migration-42');
  label('app', '20261121T031700Z', 'pre-migration-42');
  label('other', '20261122T031700Z', 'other-label');
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('findSet label:NAME', () => {
  it('finds the newest complete set with the label', async () => {
    expect((await findSet(repo, 'app', 'label:pre-migration-42')).id).toBe('20261121T031700Z');
  });

  it('skips a damaged set with the label for an older complete one', async () => {
    fs.rmSync(path.join(root, setPrefix('app', '20261121T031700Z'), 'dump'));
    expect((await findSet(repo, 'app', 'label:pre-migration-42')).id).toBe('20261120T031700Z');
  });

  it('says so when only damaged sets carry the label (exit 6)', async () => {
    fs.rmSync(path.join(root, setPrefix('app', '20261121T031700Z'), 'dump'));
    fs.rmSync(path.join(root, setPrefix('app', '20261120T031700Z'), 'dump'));
    const err = await thrown(findSet(repo, 'app', 'label:pre-migration-42'));
    expect(err.code).toBe(6);
    expect(err.message).toBe('backup 20261121T031700Z of database "app", labelled "pre-migration-42", is damaged: dump is missing');
    expect(err.hint).toContain('no complete set carries the label');
  });

  it('exits 5 for a label no set of the database carries, naming the labels there are', async () => {
    const err = await thrown(findSet(repo, 'app', 'label:other-label'));
    expect(err.code).toBe(5);
    expect(err.message).toBe(`no backup of database "app" is labelled "other-label" in ${repo.url}`);
    expect(err.hint).toBe('labels of its complete sets: pre-migration-42 (see pgops backups list)');
    const none = await thrown(findSet(repo, 'nobody', 'label:x'));
    expect(none.code).toBe(5);
    expect(none.hint).toContain('pgops backup --label NAME');
  });
});
