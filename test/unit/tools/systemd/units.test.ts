import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../../../lib/cli/parser.ts';
import { cronOf, JOBS, onCalendarOf, PGOPS_BIN, renderUnits, UNIT_DIR } from '../../../../tools/systemd/units.ts';
import { tempDirs } from '../../../support/temp-dir.ts';

const ROOT = new URL('../../../../', import.meta.url).pathname.replace(/\/$/, '');
const BIN = path.join(ROOT, 'bin', 'pgops.js');
const tempDir = tempDirs('pgops-units-');
const files = renderUnits(ROOT);

// The next n times (UTC, "2026-01-01 00:07") at which a cron line of numbers, lists and * fires, from base on.
function cronTimes(cron: string, base: Date, n: number): string[] {
  const [minute, hour, , , dow] = cron.split(/\s+/);
  const fits = (field: string, v: number) => field === '*' || field.split(',').map(Number).includes(v);
  const out: string[] = [];
  for (let t = base.getTime(); out.length < n; t += 60_000) {
    const d = new Date(t);
    if (fits(minute, d.getUTCMinutes()) && fits(hour, d.getUTCHours()) && fits(dow, d.getUTCDay())) out.push(d.toISOString().slice(0, 16).replace('T', ' '));
  }
  return out;
}

// The next n times systemd itself computes for an OnCalendar= expression.
async function systemdTimes(spec: string, base: Date, n: number): Promise<string[]> {
  const r = await execa('systemd-analyze', ['calendar', `--base-time=${base.toISOString().replace('T', ' ').slice(0, 19)} UTC`, `--iterations=${n}`, spec]);
  return [...r.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d):00 UTC/g)].map((m) => m[1]);
}

describe('the systemd units in deploy/systemd', () => {
  it('are committed as generated (run npm run docs)', () => {
    const dir = path.join(ROOT, UNIT_DIR);
    expect(fs.readdirSync(dir).sort()).toEqual([...files.keys()].sort());
    for (const [name, text] of files) expect(fs.readFileSync(path.join(dir, name), 'utf8'), name).toBe(text);
  });

  it('pass systemd-analyze verify, run with ExecStart pointing at this checkout\'s bin', async () => {
    const dir = tempDir();
    const made: string[] = [];
    for (const [name, text] of files) {
      if (name.endsWith('.example')) continue;
      // an instance of each template, as systemctl enable pgops-backup@main.timer makes it
      const file = path.join(dir, name.replace('@.', '@main.'));
      fs.writeFileSync(file, text.replaceAll(PGOPS_BIN, BIN));
      made.push(file);
    }
    const r = await execa('systemd-analyze', ['verify', ...made], { reject: false, env: { SYSTEMD_LOG_LEVEL: 'warning' } });
    // verify exits 0 on unknown keys and bad values, which it only warns of: every line about these files counts
    const about = r.stderr.split('\n').filter((l) => l.includes(dir) || /pgops-/.test(l));
    expect({ exitCode: r.exitCode, about }).toEqual({ exitCode: 0, about: [] });
  });

  it('fail verify when ExecStart names no program, so the check above can fail', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'pgops-backup@main.service');
    fs.writeFileSync(file, files.get('pgops-backup@.service')!.replaceAll(PGOPS_BIN, path.join(dir, 'no-such-pgops')));
    const r = await execa('systemd-analyze', ['verify', file], { reject: false });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('no-such-pgops');
  });

  it("fire when the workflows' cron lines fire (prune 90 minutes after the backup)", async () => {
    const base = new Date('2026-03-01T00:00:00Z');
    for (const job of JOBS) {
      const spec = /OnCalendar=(.*)/.exec(files.get(`pgops-${job.name}@.timer`)!)![1];
      const cron = cronOf(job.workflow, ROOT);
      const expected = cronTimes(cron, new Date(base.getTime() - (job.name === 'prune' ? 90 * 60_000 : 0)), 4)
        .map((t) => (job.name === 'prune' ? new Date(new Date(`${t}Z`).getTime() + 90 * 60_000).toISOString().slice(0, 16).replace('T', ' ') : t));
      expect(await systemdTimes(spec, base, 4), `${job.name}: ${spec} vs ${cron}`).toEqual(expected);
    }
  });

  it('run command lines the pgops parser accepts, under the hardening every job runs with', async () => {
    for (const [name, text] of files) {
      if (!name.endsWith('.service')) continue;
      for (const [, line] of text.matchAll(/^ExecStart=\S+ (.*)$/gm)) {
        const parsed = await parseCommandLine(line.split(' '));
        expect('entry' in parsed, `${name}: ${line}`).toBe(true);
      }
      for (const setting of ['Type=oneshot', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateDevices=yes', 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6', 'SystemCallFilter=@system-service', 'LockPersonality=yes', 'EnvironmentFile=-/etc/pgops/pgops.env']) {
        expect(text, `${name} lacks ${setting}`).toContain(`\n${setting}\n`);
      }
      // V8 writes the machine code it runs
      expect(text).not.toMatch(/^MemoryDenyWriteExecute=/m);
    }
  });

  it('convert cron lines to OnCalendar and refuse what they cannot', () => {
    expect(onCalendarOf('17 2 * * *')).toBe('*-*-* 02:17:00 UTC');
    expect(onCalendarOf('7,22,37,52 * * * *')).toBe('*-*-* *:07,22,37,52:00 UTC');
    expect(onCalendarOf('47 0 * * 0')).toBe('Sun *-*-* 00:47:00 UTC');
    expect(() => onCalendarOf('*/5 * * * *')).toThrow(/beyond/);
    expect(() => onCalendarOf('0 0 1 * *')).toThrow(/beyond/);
  });
});
