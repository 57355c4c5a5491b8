import { describe, expect, it } from 'vitest';
import { streamPgTool } from '../../../lib/pg/exec-tool.ts';

describe('streaming a program', () => {
  it('reports an interrupted program through done, even when nobody reads its output any more', async () => {
    const stop = new AbortController();
    const t = streamPgTool({ file: 'sh', args: ['-c', 'sleep 30'], env: { PATH: process.env.PATH }, signal: stop.signal, what: 'sleep' });
    // the consumer (a repository put, aborted by the same SIGTERM) has already let go of the stream
    stop.abort(new Error('interrupted by SIGTERM'));
    await expect(t.done).rejects.toThrow('interrupted by SIGTERM');
    // the stream ends in that error without an 'error' event nobody listens to (vitest fails on an unhandled one)
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.stdout.destroyed).toBe(true);
  });

  it('ends the stream only once the program exited 0', async () => {
    const t = streamPgTool({ file: 'sh', args: ['-c', 'printf abc'], env: { PATH: process.env.PATH }, what: 'printf' });
    let text = '';
    for await (const chunk of t.stdout) text += String(chunk);
    await t.done;
    expect(text).toBe('abc');
  });
});
