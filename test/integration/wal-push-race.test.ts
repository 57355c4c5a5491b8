import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.ts';
import type { OptionValues } from '../../lib/options.ts';
import { openRepo } from '../../lib/repo/open.ts';
import { jsonData, runCli } from '../support/cli.ts';
import { race, type RaceResult } from '../support/race.ts';
import { initTestRepo } from '../support/repo.ts';
import { S3_SERVERS } from '../support/s3-servers.ts';
import type { S3Server } from '../support/s3.ts';
import { sha256, syntheticSegment } from '../support/wal.ts';

// wal push from several processes at once under one name, released together from a start line: a publish never
// overwrites. The same file from many processes: all succeed, one copy is stored. Different files: exactly one is
// archived and every other push is refused, where the store refuses overwrites (a folder: link(2); RGW: If-None-Match).
// s3rver ignores conditional writes: there pushes verify by reading back, and what must hold is weaker (see below).
const SYSTEM = 7711452911105411229n;
const ROUNDS = 3;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-walrace-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// A segment file named `name` in a pg_wal-like folder of its own, its content derived from seed.
function segmentFile(name: string, seed: string): string {
  const file = path.join(fs.mkdtempSync(path.join(dir, 'pg_wal-')), name);
  fs.writeFileSync(file, syntheticSegment({ systemId: SYSTEM, timeline: 1, segno: parseInt(name.slice(16), 16), seed }));
  return file;
}
const segmentName = (segno: number) => `00000001000000000000${segno.toString(16).toUpperCase().padStart(4, '0')}`;
const hashOf = (file: string) => sha256(fs.readFileSync(file));

interface Target {
  repo: string;
  env: NodeJS.ProcessEnv;
  options: Partial<OptionValues>;
  /** the store refuses overwrites: the strict guarantee holds */
  exclusive: boolean;
}

// What the repository's WAL folder holds, by name (temp files of writes included).
async function walKeys(t: Target): Promise<string[]> {
  const repo = await openRepo(t.repo, t.options as OptionValues, silentLogger());
  try {
    return (await repo.list(`wal/${SYSTEM}`)).map((o) => path.posix.basename(o.key));
  } finally {
    await repo.close();
  }
}

async function sidecarOf(t: Target, name: string): Promise<{ sha256: string; stored: string } | undefined> {
  const repo = await openRepo(t.repo, t.options as OptionValues, silentLogger());
  try {
    return (await repo.exists(`wal/${SYSTEM}/${name}.json`)) ? JSON.parse((await repo.getBytes(`wal/${SYSTEM}/${name}.json`)).toString()) : undefined;
  } finally {
    await repo.close();
  }
}

// wal fetch of name: its exit code and, when 0, the sha256 of what it restored (verified against the sidecar by fetch).
async function fetched(t: Target, name: string): Promise<{ exitCode: number; sha256?: string; stderr: string }> {
  const dest = path.join(dir, `fetched-${Math.random().toString(16).slice(2)}`);
  const r = await runCli(['wal', 'fetch', name, dest, '--repo', t.repo, '--system-id', String(SYSTEM)], t.env);
  return { exitCode: r.exitCode, sha256: r.exitCode === 0 ? hashOf(dest) : undefined, stderr: r.stderr };
}

// Where the store does not refuse overwrites (s3rver), it also writes an object in place: a read while another
// writer's put of the same key runs sees a torn or cut-off object, and a push then fails safe (naming what it
// read). PostgreSQL runs a failed archive_command again; so does this, once each, after the race, one at a time.
// Where the store refuses overwrites, the race's own outcomes are the ones asserted.
async function asPostgresRetries(results: RaceResult[], t: Target): Promise<RaceResult[]> {
  if (t.exclusive) return results;
  const out: RaceResult[] = [];
  for (const r of results) {
    if (r.exitCode === 0) out.push(r);
    else out.push({ args: r.args, ...(await runCli(['wal', ...r.args], t.env)) });
  }
  return out;
}

const refusedFor = (r: RaceResult, own: string) => r.exitCode === 2 && r.stderr.includes(`this file has sha256 ${own}`);

function raceTests(target: () => Target) {
  it('pushes of one segment from 12 processes at once all succeed, and one copy is stored', async () => {
    const t = target();
    const name = segmentName(0x20);
    const file = segmentFile(name, 'the same');
    const results = await asPostgresRetries(await race(Array.from({ length: 12 }, () => ['push', file, '--repo', t.repo]), t.env), t);
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
    const first = results.filter((r) => r.stdout.startsWith(`archived ${name}`));
    if (t.exclusive) expect(first, 'exactly one push publishes the sidecar').toHaveLength(1);
    expect(await walKeys(t)).toEqual([name, `${name}.json`]);
    expect((await sidecarOf(t, name))?.sha256).toBe(hashOf(file));
    expect((await fetched(t, name)).sha256).toBe(hashOf(file));
  });

  it(`of two different segments under one name pushed at once, one is archived and the other refused, ${ROUNDS} rounds`, async () => {
    const t = target();
    for (let round = 0; round < ROUNDS; round++) {
      const name = segmentName(0x30 + round);
      const [a, b] = [segmentFile(name, `a${round}`), segmentFile(name, `b${round}`)];
      // in the middle round one side compresses: two data objects, one sidecar
      const extra = (f: string) => (round === 1 && f === a ? ['--wal-compress', 'gzip'] : []);
      const files = [a, b, a, b];
      const results = await asPostgresRetries(await race(files.map((f) => ['push', f, '--repo', t.repo, ...extra(f)]), t.env), t);
      const won = new Set(results.filter((r) => r.exitCode === 0).map((r) => r.args[1]));
      const context = results.map((r) => `${r.args[1] === a ? 'a' : 'b'}: ${r.exitCode} ${r.stdout}${r.stderr}`).join('\n');
      for (const r of results) if (r.exitCode !== 0) expect(r.stderr, context).toMatch(/this file has sha256 [0-9a-f]{64}/);
      const sidecar = await sidecarOf(t, name);
      const got = await fetched(t, name);
      if (t.exclusive) {
        expect(won.size, context).toBe(1);
        const [winner] = won;
        const loser = winner === a ? b : a;
        // every push of the winning file succeeds, every push of the other is refused naming both hashes
        for (const r of results.filter((x) => x.args[1] === winner)) expect(r.exitCode, context).toBe(0);
        for (const r of results.filter((x) => x.args[1] === loser)) {
          expect(refusedFor(r, hashOf(loser)), context).toBe(true);
          expect(r.stderr, context).toContain(`with sha256 ${hashOf(winner)}`);
          expect(r.stderr, context).toContain('nothing was overwritten');
        }
        expect(sidecar?.sha256).toBe(hashOf(winner));
        expect(got.sha256, got.stderr).toBe(hashOf(winner));
        // the loser's own data object (another compression) was taken back: one data object, one sidecar
        expect((await walKeys(t)).filter((k) => k.startsWith(name)).sort()).toEqual([sidecar!.stored, `${name}.json`].sort());
      } else {
        // no conditional writes: nothing can stop a put that looked the key up before another's landed and arrives
        // after that push read its publish back (so even two successes are possible, rarely); what holds is that
        // the sidecar names one of the two files and fetch restores exactly that or refuses (exit 6), never a mix
        if (sidecar) expect([hashOf(a), hashOf(b)]).toContain(sidecar.sha256);
        if (got.exitCode === 0) expect(got.sha256).toBe(sidecar?.sha256);
        else {
          expect(got.exitCode, got.stderr).toBe(6);
          expect(context).toMatch(/replaced/);
        }
      }
      expect((await walKeys(t)).filter((k) => k.startsWith('.pgops-tmp-'))).toEqual([]);
    }
  });
}

describe('wal push racing on a file repository', () => {
  const t: Target = { repo: '', env: {}, options: {}, exclusive: true };
  beforeAll(async () => {
    t.repo = `file://${dir}/repo`;
    await initTestRepo(t.repo);
  });
  raceTests(() => t);
});

describe.each(S3_SERVERS)('wal push racing on an s3 repository on $name', ({ start }) => {
  let s3: S3Server;
  const t: Target = { repo: '', env: {}, options: {}, exclusive: false };
  beforeAll(async () => {
    s3 = await start();
    Object.assign(process.env, s3.env);
    t.repo = s3.repoUrl('walrace');
    t.env = { ...s3.env, PGOPS_S3_ENDPOINT: s3.endpoint, PGOPS_S3_PATH_STYLE: 'true', PGOPS_S3_CHECKSUM: 'when-required' };
    t.options = s3.options;
    // repo init probes whether the store refuses overwrites, and records it for every writer
    const init = await runCli(['repo', 'init', '--repo', t.repo, '--json'], t.env);
    expect(init.exitCode, init.stderr).toBe(0);
    t.exclusive = jsonData(init.stdout).identity.conditionalWrites === true;
    expect(t.exclusive).toBe(s3.capabilities.conditionalWrites);
  }, 120_000);
  afterAll(async () => {
    await s3?.stop();
  });
  raceTests(() => t);
});
