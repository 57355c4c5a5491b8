import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { drillDeclaration, looksDestructive, parseDrillPage, placeholders } from '../../tools/runbook-drill/page.ts';
import { SCENARIO_PAGES } from '../../tools/runbook-drill/scenarios.ts';
import { hostRewrites, onHost } from '../../tools/runbook-drill/host.ts';

// Every on-call scenario page is a drill: it declares what it fixes and which test drills it, and every shell block
// says whether it is run, a diagnosis, a judgement call, the verify check, a step away from the host, or an example.
const ROOT = new URL('../../', import.meta.url).pathname;
const read = (f: string) => fs.readFileSync(path.join(ROOT, 'runbooks', f), 'utf8');

describe('the drill marks of a page', () => {
  it('reads the declaration, the steps with their kinds and ids, and what is unmarked', () => {
    const page = [
      '# T',
      '<!-- drill',
      'handles: the thing breaks',
      'drill: test/drills/t.drill.test.ts',
      '-->',
      '## Steps',
      '### 1. Look',
      '```sh diagnose',
      'pgops wal check',
      '```',
      '```text',
      'PGOPS WAL CRITICAL',
      '```',
      '```sh run',
      '# DESTRUCTIVE: drops it',
      'psql -c "DROP TABLE x"',
      '```',
      '## How to verify',
      '```sh verify',
      'pgops status',
      '```',
      '```sh',
      'ls',
      '```',
      '- in a list item:',
      '  ```sh run',
      '  echo indented',
      '  ```',
    ].join('\n');
    const p = parseDrillPage(page);
    expect(p.declaration).toEqual({ handles: 'the thing breaks', drill: 'test/drills/t.drill.test.ts', notDrilled: undefined });
    expect(p.steps.map((s) => [s.id, s.kind, s.destructive, s.line])).toEqual([
      ['1-look:1', 'diagnose', false, 8],
      ['1-look:2', 'run', true, 14],
      ['how-to-verify:1', 'verify', false, 19],
      ['how-to-verify:2', 'run', false, 26],
    ]);
    expect(p.steps[3].code).toBe('echo indented');
    expect(p.unmarked).toEqual([{ section: 'How to verify', line: 22, info: 'sh' }]);
    expect(drillDeclaration('<!-- drill\nhandles: x\ndrill: none: needs a second data centre\n-->')).toEqual({ handles: 'x', drill: undefined, notDrilled: 'needs a second data centre' });
  });

  it('finds named placeholders, not heredocs or redirects', () => {
    expect(placeholders(`psql -d "postgresql://<user>@<host>:5432/<database>" <<'EOF'\ncat < /dev/null; x <oldest waiting file> <a>\nEOF`)).toEqual(['user', 'host', 'database', 'oldest waiting file', 'a']);
  });

  it('maps the Debian host the pages are written for, longest path first', () => {
    const h = { host: { port: 6001 }, newHost: { port: 6002 }, pgdata: '/t/data', pgBin: '/pg/bin', pgopsCommand: 'node /x/pgops.js', config: '/t/c.yml' };
    expect(onHost('psql -d postgresql://<user>@<host>:5432/a -d postgresql://<user>@<new-host>:5432/b; ls /var/lib/postgresql/15/main/pg_wal; /usr/bin/node /opt/pgops/bin/pgops.js wal push --config /etc/pgops/pgops.config.yml', h)).toBe(
      'psql -d postgresql://<user>@127.0.0.1:6001/a -d postgresql://<user>@127.0.0.1:6002/b; ls /t/data/pg_wal; node /x/pgops.js wal push --config /t/c.yml',
    );
    // a path the drill does not give is left as written
    expect(hostRewrites(h).map(([from]) => from)).not.toContain('/var/backups/pgops');
  });

  it('knows what a destructive line looks like', () => {
    for (const c of ['pgops restore --execute', 'psql -c "DROP DATABASE x"', 'DELETE FROM t', 'pg_ctl -D d stop', 'rm -rf /x', 'pg_dropcluster --stop 15 main']) expect(looksDestructive(c), c).toBe(true);
    for (const c of ['pgops restore --to x', 'psql -c "SELECT 1"', 'rm file']) expect(looksDestructive(c), c).toBe(false);
  });
});

describe.each(SCENARIO_PAGES.map((p) => [p]))('runbooks/%s is a drill', (page) => {
  const text = read(page);
  const parsed = parseDrillPage(text);

  it('declares the failure it handles and the drill that proves it (or why none does)', () => {
    expect(parsed.declaration, 'a <!-- drill ... --> comment after the title').toBeDefined();
    const d = parsed.declaration!;
    expect(d.handles.length, 'handles: ...').toBeGreaterThan(10);
    if (d.notDrilled) return;
    const name = `${page.replace(/\.md$/, '')}.drill.test.ts`;
    expect([`test/drills/${name}`, `test/drills/slow/${name}`], 'drill: test/drills/[slow/]<page>.drill.test.ts').toContain(d.drill);
    const drill = fs.readFileSync(path.join(ROOT, d.drill!), 'utf8');
    expect(drill).toContain(`page: '${page}'`);
  });

  it('marks every shell block', () => {
    expect(parsed.unmarked.map((u) => `line ${u.line}: \`\`\`${u.info} (under "${u.section}")`)).toEqual([]);
  });

  it('has a verify step under "How to verify", and the steps it runs before it', () => {
    const verify = parsed.steps.filter((s) => s.kind === 'verify');
    expect(verify.length).toBeGreaterThan(0);
    expect(verify.every((s) => s.section === 'How to verify'), 'verify steps are under "## How to verify"').toBe(true);
    expect(parsed.steps.some((s) => s.kind === 'run' || s.kind === 'judgement')).toBe(true);
  });

  it('says so on every block that changes or destroys data', () => {
    const unsaid = parsed.steps.filter((s) => !s.destructive && s.kind !== 'example' && looksDestructive(s.code.replace(/^\s*#.*$/gm, '')));
    expect(unsaid.map((s) => `${s.id} (line ${s.line}) needs a "# DESTRUCTIVE: ..." line`)).toEqual([]);
  });
});

describe("the README's drill table", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = /<!-- drills:start -->([\s\S]*?)<!-- drills:end -->/.exec(readme)?.[1] ?? '';

  it('has a row for every scenario page, each drilled and passed or saying why it is not drilled', () => {
    for (const page of SCENARIO_PAGES) {
      const row = table.split('\n').find((l) => l.startsWith(`| [${page}](runbooks/${page}) |`));
      expect(row, `a row for ${page}`).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      expect(cells[6] === 'passed' || /^not drilled: .{10,}/.test(cells[2]), `${page}: ${row}`).toBe(true);
    }
  });
});
