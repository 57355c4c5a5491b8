import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HashWorker } from '../../../lib/tar/hash-worker.ts';

const sum = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('the lay-down hashing thread', () => {
  it('sums the chunks whole and the files their ops name, in order', async () => {
    const w = new HashWorker(true);
    const a = Buffer.from('headerAAAAtrailer');
    const b = Buffer.from('BBcc');
    await new Promise<void>((resolve, reject) => w.push(a, [['b', 'one'], ['d', 6, 4]], (err) => (err ? reject(err) : resolve())));
    // the caller may reuse its chunk once pushed: the worker has a copy
    a.fill(0);
    await new Promise<void>((resolve, reject) => w.push(b, [['d', 0, 2], ['e'], ['b', 'two'], ['d', 2, 2], ['e']], (err) => (err ? reject(err) : resolve())));
    const d = await w.finish();
    expect(d.tar).toBe(sum('headerAAAAtrailerBBcc'));
    expect(d.tarBytes).toBe(21);
    expect(d.files).toEqual([['one', sum('AAAABB')], ['two', sum('cc')]]);
  });

  it('runs under node --input-type=module, as the benchmark launches pgops', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      const { HashWorker } = await import(${JSON.stringify(path.resolve('lib/tar/hash-worker.ts'))});
      const w = new HashWorker(true);
      await new Promise((r) => w.push(Buffer.from('abc'), [], r));
      console.log((await w.finish()).tar);`], { encoding: 'utf8' });
    expect(out.trim()).toBe(sum('abc'));
  });
});
