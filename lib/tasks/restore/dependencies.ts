import fs from 'node:fs/promises';
import path from 'node:path';
import type { PgBinary } from '../../pg/binaries.ts';
import { execPgTool } from '../../pg/exec-tool.ts';

// Object kinds a table's definition may depend on (column types, defaults, check functions), as pg_restore -l names them.
const DEPENDENCY_KINDS = ['SCHEMA', 'EXTENSION', 'TYPE', 'DOMAIN', 'COLLATION', 'FUNCTION', 'PROCEDURE', 'AGGREGATE', 'OPERATOR', 'CAST', 'CONVERSION', 'TEXT SEARCH', 'SEQUENCE'];
const NOT_DEPENDENCIES = ['SEQUENCE SET', 'SEQUENCE OWNED BY', 'OPERATOR CLASS', 'OPERATOR FAMILY'];

// The lines of a pg_restore -l listing that create dependency objects (schemas, types, functions, sequences).
export function dependencyEntries(listing: string): string[] {
  return listing.split('\n').filter((line) => {
    const m = /^\d+; \d+ \d+ (.*)$/.exec(line);
    if (!m) return false;
    const rest = m[1];
    if (NOT_DEPENDENCIES.some((k) => rest.startsWith(k + ' '))) return false;
    return DEPENDENCY_KINDS.some((k) => rest.startsWith(k + ' '));
  });
}

// Before restoring single tables into an empty database: creates what their definitions may use. Best effort:
// an object that needs a table not being restored (an identity sequence) fails alone; what matters is checked
// by the strict table pass that follows. Returns the errors pg_restore reported, for the log.
export async function restoreDependencies(req: { pgRestore: PgBinary; dump: string; workDir: string; connString: string; env: NodeJS.ProcessEnv; signal: AbortSignal; noOwner: boolean }): Promise<string[]> {
  const listing = await execPgTool({ file: req.pgRestore.path, args: ['--list', req.dump], env: req.env, signal: req.signal, what: 'pg_restore --list', capture: true });
  const listFile = path.join(req.workDir, `pgops-deps-${process.pid}.list`);
  await fs.writeFile(listFile, dependencyEntries(listing).join('\n') + '\n');
  try {
    const args = [`--dbname=${req.connString}`, '--no-password', `--use-list=${listFile}`, ...(req.noOwner ? ['--no-owner', '--no-privileges'] : []), req.dump];
    const stderr = await execPgTool({ file: req.pgRestore.path, args, env: req.env, signal: req.signal, what: 'pg_restore (dependencies)', okExitCodes: [0, 1] });
    return stderr.split('\n').filter((l) => /error:/i.test(l));
  } finally {
    await fs.rm(listFile, { force: true });
  }
}
