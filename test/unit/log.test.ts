import { describe, expect, it } from 'vitest';
import { dispatch } from '../../lib/cli/dispatch.ts';
import { createLogger, type TextSink } from '../../lib/log.ts';
import { tempDirs } from '../support/temp-dir.ts';

const tempDir = tempDirs('pgops-log-');

// A sink that says it is (or is not) a terminal and keeps what it is given.
function sink(isTTY: boolean): TextSink & { text: () => string } {
  let text = '';
  return { isTTY, write: (t: string) => ((text += t), true), text: () => text };
}

describe('the log on a terminal', () => {
  it('leaves out the kinds the summary on stdout says, info only, and still records them', () => {
    const err = sink(true);
    const log = createLogger({ task: 'backup', stream: err, quietOnTerminal: ['done'] });
    log.info('start', 'backup of app');
    log.info('done', 'backup 20261201T000000Z of app: 3.4 MB in 1.2s');
    log.error('done', 'FAIL drill of app');
    // (colours or not, as NO_COLOR says)
    expect(err.text().replace(/\x1b\[[0-9;]*m/g, '')).toBe('backup of app\nERROR: FAIL drill of app\n');
    expect(log.entries.map((e) => e.kind)).toEqual(['start', 'done', 'done']);
  });

  it('prints every kind as JSON lines and where stderr is no terminal', () => {
    for (const [stream, format] of [[sink(false), undefined], [sink(true), 'json']] as const) {
      const log = createLogger({ task: 'backup', stream, format, quietOnTerminal: ['done'] });
      log.info('done', 'the summary');
      expect(stream.text()).toContain('the summary');
    }
  });

  it('prints a run summary once when stdout and stderr are one terminal, and twice apart when stdout is a pipe', async () => {
    const repo = `file://${tempDir()}/repo`;
    const run = async (stdoutIsTTY: boolean) => {
      const out = sink(stdoutIsTTY);
      const err = sink(true);
      const code = await dispatch(['repo', 'init', '--repo', repo], { stdout: out, stderr: err, env: { PATH: process.env.PATH, NO_COLOR: '1' } });
      return { code, out: out.text(), err: err.text() };
    };
    const first = await run(true);
    expect(first.code).toBe(0);
    const summary = first.out.trim();
    expect(summary).toMatch(/repository/);
    expect(first.err).not.toContain(summary);
    const again = await run(false);
    expect(again.code).toBe(0);
    expect(again.err).toContain(again.out.trim());
  });
});
