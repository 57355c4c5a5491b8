import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { confirmOnTerminal } from '../../lib/confirm.ts';

// A terminal whose person types `typed` (or closes the input), and what it was shown.
function terminal(typed?: string) {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (c) => (shown += String(c)));
  setImmediate(() => (typed === undefined ? input.end() : input.write(`${typed}\n`)));
  return { t: { input, output }, shown: () => shown };
}

describe('the confirmation a destructive step asks on a terminal', () => {
  it('goes on when the database name is typed', async () => {
    const { t, shown } = terminal('app');
    await expect(confirmOnTerminal(t, 'restore --clean drops the objects of the backup in database app', 'app')).resolves.toBeUndefined();
    expect(shown()).toContain('restore --clean drops the objects of the backup in database app\nType app to go on');
  });

  it('stops, changing nothing, when anything else is typed', async () => {
    const { t } = terminal('ap');
    await expect(confirmOnTerminal(t, 'drop 3 partitions', 'app')).rejects.toThrow('not confirmed: "ap" is not app; nothing was changed');
  });

  it('stops when the input closes without an answer', async () => {
    const { t } = terminal(undefined);
    await expect(confirmOnTerminal(t, 'drop 3 partitions', 'app')).rejects.toThrow('not confirmed: no answer was typed; nothing was changed');
  });

  it('leaves no listener behind on the input, so that asking once per table never piles them up', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const before = input.listenerCount('end') + input.listenerCount('close');
    for (let i = 0; i < 12; i++) {
      setImmediate(() => input.write('app\n'));
      await confirmOnTerminal({ input, output }, `drop partitions of table ${i}`, 'app');
    }
    expect(input.listenerCount('end') + input.listenerCount('close')).toBe(before);
  });

  it('asks nothing without a terminal (cron, a pipe): the command line is the consent', async () => {
    await expect(confirmOnTerminal(undefined, 'drop 3 partitions', 'app')).resolves.toBeUndefined();
  });
});
