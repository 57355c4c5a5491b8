import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArgsError } from '../../../bench/lib/args.ts';
import { parsePitrArgs } from '../../../bench/lib/pitr-args.ts';
import { drillParts } from '../../../bench/lib/pitr-phases.ts';
import { partsFromLog, phaseTable, ratiosOf, summariseOps, type PitrSample } from '../../../bench/lib/pitr-report.ts';
import { replayTimeline } from '../../../bench/lib/pitr-server.ts';

const sample = (round: number, op: string, seconds: number, extra: Partial<PitrSample> = {}): PitrSample => ({ round, op, seconds, load1: 1, ...extra });

describe('bench:pitr results', () => {
  it('takes the median of per-round ratios, not the ratio of medians, and judges it against the target', () => {
    const samples = [sample(1, 'a', 2), sample(1, 'b', 1), sample(2, 'a', 3), sample(2, 'b', 3), sample(3, 'a', 10), sample(3, 'b', 4)];
    const [row] = ratiosOf([{ label: 'a / b', op: 'a', baseline: 'b', maxRatio: 1.5 }], samples);
    // per round: 2, 1, 2.5 -> median 2
    expect(row.ratio).toBe(2);
    expect(row.ratioRange).toEqual([1, 2.5]);
    expect(row.pass).toBe(false);
    const [info] = ratiosOf([{ label: 'b / a', op: 'b', baseline: 'a' }], samples);
    expect(info.pass).toBeUndefined();
  });

  it('leaves out a comparison whose operations did not run', () => {
    expect(ratiosOf([{ label: 'x', op: 'a', baseline: 'missing' }], [sample(1, 'a', 1)])).toEqual([]);
    expect(summariseOps([{ id: 'missing', label: 'm', pgops: false }], [sample(1, 'a', 1)])).toEqual([]);
  });

  it('reports the median CPU and the highest peak RSS of an operation', () => {
    const [row] = summariseOps([{ id: 'a', label: 'a', pgops: true }], [sample(1, 'a', 2, { cpuSeconds: 1, peakRssKb: 1024 }), sample(2, 'a', 4, { cpuSeconds: 3, peakRssKb: 4096 }), sample(3, 'a', 3, { cpuSeconds: 2 })]);
    expect(row).toMatchObject({ medianSeconds: 3, range: [2, 4], medianCpuSeconds: 2, peakRssMb: 4 });
  });

  it("cuts a pgops run at the first log entry of each kind, from the spawn to the exit", () => {
    const spawned = Date.parse('2026-12-01T10:00:00.000Z');
    const stderr = [
      JSON.stringify({ time: '2026-12-01T10:00:00.300Z', kind: 'start' }),
      'not json',
      JSON.stringify({ time: '2026-12-01T10:00:02.300Z', kind: 'archive-wait' }),
      JSON.stringify({ time: '2026-12-01T10:00:02.900Z', kind: 'archive-wait' }),
    ].join('\n');
    const parts = partsFromLog(stderr, spawned, 3, [
      { id: 'startup', label: '', from: 'spawn', to: 'start' },
      { id: 'stream', label: '', from: 'start', to: 'archive-wait' },
      { id: 'rest', label: '', from: 'archive-wait', to: 'exit' },
      { id: 'never', label: '', from: 'start', to: 'done' },
    ]);
    expect(parts).toEqual({ startup: 0.3, stream: 2, rest: 0.7 });
  });

  it('shows each part against the median of the whole operation', () => {
    const t = phaseTable('t', 'a', [{ id: 'x', label: 'x' }, { id: 'y', label: 'y' }], [sample(1, 'a', 4, { parts: { x: 1 } }), sample(2, 'a', 4, { parts: { x: 3 } })]);
    expect(t.rows).toEqual([
      { label: 'x', medianSeconds: 2, share: 0.5 },
      { label: 'whole run (wall clock, spawn to exit)', medianSeconds: 4, share: 1 },
    ]);
  });

  it("takes the drill's durations from its report and counts what is left as the rest", () => {
    const m = { seconds: 10, startedAtMs: 0, stdout: '', stderr: '' };
    expect(drillParts(m, { durations: { downloadMs: 500, layDownMs: 1500, replayMs: 6000, checksMs: null } })).toEqual({ downloadMs: 0.5, layDownMs: 1.5, replayMs: 6, rest: 2 });
  });

  it("reads a recovered server's replay from its log's timestamps", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-bench-test-')), 'server.log');
    fs.writeFileSync(
      file,
      [
        '2026-12-01 10:00:00.000 UTC [10] LOG:  starting PostgreSQL 15.18 on x86_64-pc-linux-gnu',
        '2026-12-01 10:00:00.250 UTC [11] LOG:  restored log file "000000010000000000000003" from archive',
        '2026-12-01 10:00:01.250 UTC [11] LOG:  restored log file "000000010000000000000004" from archive',
        '2026-12-01 10:00:03.000 UTC [11] LOG:  redo done at 0/5000100 system usage: CPU: user: 0.10 s',
        '2026-12-01 10:00:03.500 UTC [10] LOG:  database system is ready to accept connections',
        '',
      ].join('\n'),
    );
    try {
      expect(replayTimeline(file, Date.parse('2026-12-01T10:00:03.600Z'))).toEqual({ serverStart: 0.25, restoring: 2.75, endOfRecovery: 0.5, afterReady: 0.1 });
      expect(replayTimeline(path.join(path.dirname(file), 'none.log'), 0)).toEqual({});
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  it('parses its options and refuses bad ones naming the value', () => {
    expect(parsePitrArgs([])).toEqual({ rounds: 5, sizeMb: 1024, walMb: 256 });
    expect(parsePitrArgs(['--rounds', '5', '--size', '64', '--wal-mb', '32'])).toEqual({ rounds: 5, sizeMb: 64, walMb: 32 });
    expect(parsePitrArgs(['--help'])).toBeUndefined();
    expect(() => parsePitrArgs(['--rounds', '0'])).toThrow(ArgsError);
    expect(() => parsePitrArgs(['--size', '8'])).toThrow(/invalid --size "8": expected a whole number of at least 16/);
    expect(() => parsePitrArgs(['--scale', '5'])).toThrow(ArgsError);
  });
});
