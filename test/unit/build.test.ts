import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('the bundle the bin runs', () => {
  it('builds from lib/ and runs a command', () => {
    const out = fs.mkdtempSync(path.join(ROOT, 'tmp-build-'));
    try {
      execFileSync('node', [path.join(ROOT, 'bin/build.js'), '--outdir', out], { cwd: ROOT, stdio: 'pipe' });
      expect(fs.existsSync(path.join(out, 'main.js'))).toBe(true);
      // a task is its own chunk, loaded only when that task runs
      expect(fs.readdirSync(out).some((f) => /^backup-.*\.js$/.test(f))).toBe(true);
      const version = execFileSync('node', ['-e', `import(${JSON.stringify(path.join(out, 'main.js'))}).then((m) => m.run(['--version']))`], { cwd: ROOT, encoding: 'utf8' });
      expect(version.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
