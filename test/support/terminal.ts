import { PassThrough } from 'node:stream';
import type { Terminal } from '../../lib/confirm.ts';

// A terminal whose person types `typed` once the question is shown, and everything it was shown.
export function answeringTerminal(typed: string): { terminal: Terminal; shown: () => string } {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (d) => (shown += String(d)));
  output.once('data', () => input.write(`${typed}\n`));
  return { terminal: { input, output }, shown: () => shown };
}
