import { ExitCode } from '../../errors.ts';
import { initialise, newIdentity, probeConditionalWrites, REPO_FILE } from '../../repo/identity.ts';
import { openRepo } from '../../repo/open.ts';
import { listSets } from '../../repo/sets.ts';
import type { TaskHandler } from '../../task.ts';

// pgops repo init: makes a location a repository by writing pgops-repo.json; a location that already holds sets or
// WAL (written before repositories were initialised) is adopted as it is; an initialised one is left unchanged.
export const repoInit: TaskHandler<'repo-init'> = async (ctx) => {
  const repo = await openRepo(ctx.options.repo, ctx.options, ctx.log);
  try {
    await repo.check();
    const conditionalWrites = await probeConditionalWrites(repo);
    const { identity, created } = await initialise(repo, newIdentity(ctx.now(), conditionalWrites));
    const sets = await listSets(repo);
    const wal = await repo.hasAny('wal/');
    const held = [sets.length ? `${sets.length} backup set(s)` : '', wal ? 'archived WAL' : ''].filter(Boolean).join(' and ');
    const summary = created
      ? `initialised repository ${repo.url} (format ${identity.version})${held ? `, adopting the ${held} it holds` : ''}${conditionalWrites === false ? '; this store ignores conditional writes (If-None-Match), so writers verify what they publish by reading it back' : ''}`
      : `${repo.url} is a pgops repository already (format ${identity.version}, created ${identity.createdAt} by pgops ${identity.tool?.version ?? '?'}): nothing changed`;
    ctx.log.info('done', summary, { created });
    return { exitCode: ExitCode.OK, summary, data: { ok: true, repo: repo.url, created, file: REPO_FILE, identity, adopted: created && held ? { sets: sets.length, wal } : null } };
  } finally {
    await repo.close();
  }
};
