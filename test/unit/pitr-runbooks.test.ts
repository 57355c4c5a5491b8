import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildParser } from '../../lib/cli/parser.ts';
import { shellBlocks, shellWords } from '../../tools/docs/runbooks.ts';

// The runbooks of base backups and point-in-time recovery (issue 12): their commands are the tasks they mean, with
// the safety flags the pages rely on; the point-in-time page's worked example agrees with its own rules for picking
// a target (test/drills/slow/point-in-time-recovery.drill.test.ts follows the page on a real cluster); the README says what is needed.
const ROOT = new URL('../../', import.meta.url).pathname;
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');
const SCRIPTS = {
  'point-in-time-recovery.md': ['recover', 'wal-fetch'],
  'pitr-drill-failed.md': ['drill'],
  'before-risky-migration.md': ['backup', 'basebackup', 'backups-list'],
  'basebackup.md': ['basebackup'],
} as const;
const PAGES = Object.keys(SCRIPTS) as (keyof typeof SCRIPTS)[];

// The `pgops ...` lines of a text's sh blocks, whole: placeholders filled in first, then a pipe or redirection
// (after a space) cut off. (pgopsCommands cuts at the first ">", which ends a line at its first placeholder.)
function commandsOf(text: string): string[] {
  return shellBlocks(text)
    .flatMap((b) => b.code.replace(/\\\n\s*/g, '').split('\n'))
    .map((l) => l.trim().replace(/<[^>\s]+>/g, 'x'))
    .filter((l) => /^(npx )?pgops /.test(l))
    .map((l) => l.replace(/^npx /, '').replace(/\s+#.*$/, '').replace(/\s[|>].*$/, ''));
}

// The page's `pgops ...` lines as parsed flags, each with its task's name.
async function parsed(page: string): Promise<{ cmd: string; task: string; flags: Record<string, unknown> }[]> {
  const out = [];
  for (const cmd of commandsOf(read(`runbooks/${page}`))) {
    let task = '';
    let flags: Record<string, unknown> = {};
    await buildParser(shellWords(cmd).slice(1), (entry, f) => {
      task = entry.name;
      flags = f;
    }).parseAsync();
    out.push({ cmd, task, flags });
  }
  return out;
}

// The fields of a pg_waldump line: tx, lsn, prev, and the COMMIT's time.
function waldump(line: string): { tx: string; lsn: string; prev: string; time?: string } {
  const m = /tx: +(\d+), lsn: (\S+), prev (\S+), desc: (?:COMMIT (\S+ \S+) UTC)?/.exec(line);
  if (!m) throw new Error(`not a pg_waldump line: ${line}`);
  return { tx: m[1], lsn: m[2], prev: m[3], time: m[4] };
}

describe.each(PAGES)('runbooks/%s', (page) => {
  it('is listed in the runbook index and in "On call: start here"', () => {
    const index = read('runbooks/README.md');
    expect(index).toContain(`- [${page}](${page}): `);
    expect(index.slice(0, index.indexOf('## All pages'))).toContain(`(${page})`);
  });

  it('links the scripts of the tasks it runs', () => {
    const text = read(`runbooks/${page}`);
    for (const s of SCRIPTS[page]) expect(text, `${page} links scripts/${s}.ts`).toContain(`](../scripts/${s}.ts)`);
  });
});

describe('runbooks/point-in-time-recovery.md', () => {
  const text = read('runbooks/point-in-time-recovery.md');

  it('recovers into a new data directory, paused, not archiving, on another port, and never over the live one', async () => {
    const recovers = (await parsed('point-in-time-recovery.md')).filter((c) => c.task === 'recover');
    expect(recovers).toHaveLength(1);
    const { flags } = recovers[0];
    expect(flags).toMatchObject({ 'target-action': 'pause', 'archive-mode': 'off', start: true, port: '5433' });
    expect(flags.pgdata).not.toBe('/var/lib/postgresql/15/main');
    expect(text).toMatch(/Never recover over the live\s+data directory/);
  });

  it("its example targets follow its own rules: prev of the mistaken COMMIT, the xid before, its time less 1 µs", async () => {
    const commits = [...text.matchAll(/^rmgr: Transaction .*desc: COMMIT .*$/gm)].map((m) => waldump(m[0]));
    // the pair the "-B1" grep prints: the COMMIT before, then the mistaken one
    const [before, mistaken] = commits;
    expect(text).toContain(`its \`tx:\` number, ${mistaken.tx} here`);
    const table = text.slice(text.indexOf('#### Pick the target'), text.indexOf('### 4.'));
    expect(table).toContain(`\`--target-lsn ${mistaken.prev}\``);
    expect(table).toContain(`\`--target-xid ${before.tx}\``);
    const [date, clock] = mistaken.time!.split(' ');
    const micros = Number(clock.split('.')[1].padEnd(6, '0')) - 1;
    const expected = `${date} ${clock.split('.')[0]}.${String(micros).padStart(6, '0').replace(/0+$/, '')}+00`;
    expect(table).toContain(`\`--target-time '${expected}'\``);
    // the recover line takes the table's LSN, which the page names
    expect(text).toContain('--target-lsn <target-lsn> ');
    expect(text).toContain(`the \`prev\` of the mistaken COMMIT (\`${mistaken.prev}\` in the`);
  });

  it('warns that a target includes what it names', () => {
    expect(text).toMatch(/recovery_target_inclusive = on/);
    expect(text).toMatch(/Do \*\*not\*\* give the mistaken COMMIT's own LSN or the mistaken transaction's own xid/);
  });
});

describe('README.md', () => {
  const readme = read('README.md');

  it('has job table rows for base backup, recover and the PITR drill, whose links resolve', () => {
    for (const cmd of ['`pgops basebackup`', '`pgops recover`', '`pgops drill --pitr`']) {
      const row = readme.split('\n').find((l) => l.startsWith('| ') && l.includes(cmd));
      expect(row, cmd).toBeDefined();
      for (const [, link] of row!.matchAll(/\]\(([^)#]+)\)/g)) expect(fs.existsSync(path.join(ROOT, link)), link).toBe(true);
    }
  });

  it('says WAL archiving alone is not point-in-time recovery, and what is needed', () => {
    expect(readme).toMatch(/archiving alone is\s+not point-in-time recovery/);
    const section = readme.slice(readme.indexOf('## Point-in-time recovery'), readme.indexOf('## Signals when a job stops running'));
    expect(section).toMatch(/pgops wal push %p/);
    expect(section).toMatch(/weekly\s+`pgops basebackup/);
    expect(section).toMatch(/Tablespaces:\*\* a cluster with tablespaces besides `pg_default` and `pg_global` is refused/);
    expect(section).toMatch(/never deletes a WAL or\s+history file a kept base backup needs/);
  });

  it('shows whole commands in the point-in-time section that the real parser accepts', async () => {
    const section = readme.slice(readme.indexOf('## Point-in-time recovery'), readme.indexOf('## Signals when a job stops running'));
    const cmds = commandsOf(section);
    expect(cmds.map((c) => c.split(' ')[1])).toEqual(['basebackup', 'recover', 'drill']);
    for (const cmd of cmds) await expect(buildParser(shellWords(cmd).slice(1), () => {}).parseAsync()).resolves.toBeDefined();
  });
});

describe('the checks above', () => {
  it('can fail: a command cut at its first placeholder would lose its flags', async () => {
    expect(commandsOf('```sh\npgops recover --repo s3://<bucket>/pgops --target-lsn 0/1 | tee x\n```')).toEqual(['pgops recover --repo s3://x/pgops --target-lsn 0/1']);
    expect(() => waldump('rmgr: Heap len 1')).toThrow(/not a pg_waldump line/);
  });
});
