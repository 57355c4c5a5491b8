import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { followPage, runBlock } from '../../tools/runbook-drill/follow.ts';

// The drill runner on pages written here: order, placeholders, decisions, diagnoses and confirmations, in real bash
// (and script(1) for a terminal), with no server behind it.
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-follow-'));
afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));
const host = { host: { port: 6543 }, pgBin: '/nonexistent', pgopsCommand: 'false' };

const page = (...blocks: string[]) => ['# P', '## Steps', '### 1. Do', ...blocks, '## How to verify', '```sh verify', 'test -f fixed && echo verified', '```'].join('\n');
const block = (kind: string, code: string) => `\`\`\`sh ${kind}\n${code}\n\`\`\``;

describe('followPage', () => {
  it('runs the run steps in order with placeholders bound and the verify step last', async () => {
    const r = await followPage({
      page: 'p.md',
      text: page(block('run', 'echo "<database> on $PGPORT" > seen'), block('example', 'touch example-ran'), block('run', 'grep -q "app on 6543" seen && touch fixed')),
      host,
      cwd,
      binds: { database: 'app' },
    });
    expect(r.runs.map((x) => [x.id, x.kind, x.exitCode])).toEqual([
      ['1-do:1', 'run', 0],
      ['1-do:2', 'example', 0],
      ['1-do:3', 'run', 0],
      ['how-to-verify:1', 'verify', 0],
    ]);
    expect(r.runs[1].ran).toBeUndefined();
    expect(fs.existsSync(path.join(cwd, 'example-ran'))).toBe(false);
    expect(r.verifyOutput).toBe('verified\n');
    fs.rmSync(path.join(cwd, 'fixed'));
  });

  it('stops at a step that fails as written, at a placeholder with no value, at an undecided judgement', async () => {
    await expect(followPage({ page: 'p.md', text: page(block('run', 'touch fixed; false; echo never')), host, cwd })).rejects.toThrow(/step 1-do:1 \(run, line 4\) exited 1 \(the drill expects 0\)/);
    fs.rmSync(path.join(cwd, 'fixed'));
    await expect(followPage({ page: 'p.md', text: page(block('run', 'echo <backup-id>')), host, cwd })).rejects.toThrow(/placeholder <backup-id> has no value/);
    await expect(followPage({ page: 'p.md', text: page(block('judgement', 'touch fixed')), host, cwd })).rejects.toThrow(/1-do:1 .* is a judgement step and the drill has not said/);
    await expect(followPage({ page: 'p.md', text: page(block('diagnose', 'exit 2')), host, cwd })).rejects.toThrow(/diagnose step and the drill has not said which exit codes/);
    // the verify step fails when nothing fixed it
    await expect(followPage({ page: 'p.md', text: page(block('diagnose', 'exit 2')), host, cwd, exits: { '1-do:1': [2] } })).rejects.toThrow(/how-to-verify:1 \(verify/);
  });

  it('takes the decisions the drill states, and reads placeholders off earlier output', async () => {
    let did = '';
    const r = await followPage({
      page: 'p.md',
      text: page(block('diagnose', 'echo "oldest 000000010000000000000007"; exit 2'), block('judgement', 'echo <oldest> > chosen'), block('judgement', 'touch skipped'), block('judgement', 'echo instead')),
      host,
      cwd,
      exits: { '1-do:1': [2] },
      binds: { oldest: (ctx) => /oldest (\w+)/.exec(ctx.last)![1] },
      judgements: {
        '1-do:2': { run: true, why: 'the check named the file' },
        '1-do:3': { skip: 'not needed' },
        '1-do:4': { instead: 'touched the fix by hand', do: () => { did = fs.readFileSync(path.join(cwd, 'chosen'), 'utf8'); fs.writeFileSync(path.join(cwd, 'fixed'), ''); } },
      },
    });
    expect(did).toBe('000000010000000000000007\n');
    expect(fs.existsSync(path.join(cwd, 'skipped'))).toBe(false);
    expect(r.runs.map((x) => x.decided)).toEqual([undefined, 'run: the check named the file', 'skipped: not needed', 'instead: touched the fix by hand', undefined]);
    fs.rmSync(path.join(cwd, 'fixed'));
    await expect(followPage({ page: 'p.md', text: page(block('run', 'true')), host, cwd, judgements: { '1-do:1': { skip: 'x' } } })).rejects.toThrow(/no judgement step of the page/);
  });
});

describe('runBlock on a terminal', () => {
  // what pgops asks before a destructive step (lib/confirm.ts), asked by read on the terminal script(1) gives it
  const ask = `# --execute\n[ -t 0 ] || { echo "no terminal"; exit 9; }\nread -r -p "restore into app. Type app to go on (anything else stops): " a\n[ "$a" = app ] && echo "confirmed"`;

  it('types the name when the drill confirms it, and "no" otherwise', async () => {
    const yes = await runBlock(ask, { cwd, env: { PATH: process.env.PATH! }, confirm: ['app'] });
    expect(yes.asked).toEqual(['app']);
    expect(yes.output).toMatch(/confirmed/);
    expect(yes.exitCode).toBe(0);
    const no = await runBlock(ask, { cwd, env: { PATH: process.env.PATH! }, confirm: ['app_scratch'] });
    expect(no.asked).toEqual(['app']);
    expect(no.output).not.toMatch(/confirmed/);
    expect(no.exitCode).toBe(1);
  });

  it("answers pgops's own question (lib/confirm.ts, on the terminal script(1) gives it)", async () => {
    const confirm = new URL('../../lib/confirm.ts', import.meta.url).pathname;
    fs.writeFileSync(path.join(cwd, 'ask.mts'), `import { confirmOnTerminal, processTerminal } from '${confirm}';\nawait confirmOnTerminal(processTerminal(), 'restore --clean drops the objects of the backup that exist in app', 'app');\nconsole.log('went on');\nprocess.exit(0);\n`);
    // tsx from this checkout: --import resolves a bare name from the folder the step runs in
    const code = `# --execute\n${process.execPath} --import ${new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href} ask.mts`;
    const env = { PATH: process.env.PATH! };
    const yes = await runBlock(code, { cwd, env, confirm: ['app'] });
    expect(yes.asked).toEqual(['app']);
    expect(yes.output).toMatch(/went on/);
    const no = await runBlock(code, { cwd, env, confirm: [] });
    expect(no.output).toMatch(/not confirmed: "no" is not app; nothing was changed/);
    expect(no.output).not.toMatch(/went on/);
    expect(no.exitCode).not.toBe(0);
  });

  it('runs a block without --execute off the terminal, stdin closed', async () => {
    const r = await runBlock('[ -t 0 ] && echo tty || echo "no tty"; cat', { cwd, env: { PATH: process.env.PATH! }, confirm: [] });
    expect(r.output).toBe('no tty\n');
  });
});
