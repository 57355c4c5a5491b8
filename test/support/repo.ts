import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../lib/log.ts';
import type { OptionValues } from '../../lib/options.ts';
import { initialise, newIdentity, probeConditionalWrites, REPO_FILE } from '../../lib/repo/identity.ts';
import { FileRepo } from '../../lib/repo/file.ts';
import { openRepo } from '../../lib/repo/open.ts';

// Initialises a repository for a test the way `pgops repo init` does (writers refuse a location without
// pgops-repo.json). s3 repositories need the server's s3-* options (S3Server.options). In a folder another user owns
// (the server's, for archive_command), the file is given to that user, as if its owner had run repo init.
export async function initTestRepo(url: string, options: Partial<OptionValues> = {}): Promise<void> {
  const log = createLogger({ task: 'repo-init', format: 'json', stream: { write: () => true } as never, verbose: false });
  const repo = await openRepo(url, { ...options } as OptionValues, log);
  try {
    await initialise(repo, newIdentity(new Date(), await probeConditionalWrites(repo)));
  } finally {
    await repo.close();
  }
  if (url.startsWith('file://')) {
    const root = decodeURIComponent(url.slice('file://'.length));
    const owner = fs.statSync(root);
    if (process.getuid?.() === 0 && owner.uid !== 0) fs.chownSync(path.join(root, REPO_FILE), owner.uid, owner.gid);
  }
}

// A fresh, initialised file repository in a temp folder named after prefix: its folder, the FileRepo and its URL.
export async function tempFileRepo(prefix: string): Promise<{ root: string; repo: FileRepo; url: string }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const url = `file://${root}`;
  await initTestRepo(url);
  return { root, repo: new FileRepo(root), url };
}
