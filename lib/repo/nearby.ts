import fs from 'node:fs/promises';
import path from 'node:path';
import { editDistance } from '../edit-distance.ts';
import { FileRepo } from './file.ts';
import { REPO_FILE } from './identity.ts';
import type { Repo } from './repo.ts';

// Initialised repositories near a location that is not one, for "did you mean": for a folder, its siblings whose
// names are a typo away (at most two edits), its parent and its children; in a bucket, the prefixes a typo away
// beside it and its parent. Best effort: anything unreadable is skipped.
export async function nearbyRepositories(repo: Repo): Promise<string[]> {
  if (repo.kind === 's3') {
    const s3 = repo as Repo & { prefix: string; neighbours(file: string, near: (name: string) => boolean): Promise<string[]> };
    const base = s3.prefix.slice(s3.prefix.lastIndexOf('/') + 1);
    return (await s3.neighbours(REPO_FILE, (name) => editDistance(name, base) <= 2)).slice(0, 3);
  }
  if (!(repo instanceof FileRepo)) return [];
  const root = repo.root;
  const parent = path.dirname(root);
  const base = path.basename(root);
  const candidates: string[] = [];
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  for (const name of names) if (name !== base && editDistance(name, base) <= 2) candidates.push(path.join(parent, name));
  candidates.push(parent);
  for (const name of await fs.readdir(root).catch(() => [] as string[])) candidates.push(path.join(root, name));
  const found: string[] = [];
  for (const dir of candidates) {
    if (await fs.access(path.join(dir, REPO_FILE)).then(() => true, () => false)) found.push(`file://${dir}`);
    if (found.length >= 3) break;
  }
  return found;
}
