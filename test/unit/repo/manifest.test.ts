import { describe, expect, it } from 'vitest';
import { listedPathProblems, outsideSet } from '../../../lib/repo/manifest.ts';

// A manifest names its set's files relative to the set's folder; anything else marks an edited or damaged manifest.
const file = (path: string) => ({ path, size: 1, sha256: '0'.repeat(64) });

describe('paths a manifest lists', () => {
  it.each(['dump', 'globals.sql', 'dump/toc.dat', 'dump/3000.dat.gz', 'dump/..x', '.hidden'])('accepts %s', (p) => {
    expect(outsideSet(p)).toBeUndefined();
  });
  it.each([
    ['../../etc/hostname', 'a path outside its set'],
    ['dump/../../x', 'a path outside its set'],
    ['/etc/hostname', 'an absolute path'],
    ['dump\\..\\x', 'a path with a backslash or NUL'],
    ['dump\0', 'a path with a backslash or NUL'],
    ['dump//toc.dat', 'a path with an empty or "." segment'],
    ['./dump', 'a path with an empty or "." segment'],
    ['dump/', 'a path with an empty or "." segment'],
    ['', 'a path with an empty or "." segment'],
    ['manifest.json', 'the manifest itself'],
  ])('refuses %j: %s', (p, why) => {
    expect(outsideSet(p)).toBe(why);
  });
  it('names each bad path and a path listed twice, capped', () => {
    expect(listedPathProblems({ files: [file('dump'), file('globals.sql')] })).toBeUndefined();
    expect(listedPathProblems({ files: [file('dump'), file('dump'), file('../a')] })).toBe('the manifest lists dump twice; the manifest lists a path outside its set: "../a"');
    expect(listedPathProblems({ files: ['/a', '/b', '/c'].map(file) }, 2)).toBe('the manifest lists an absolute path: "/a"; the manifest lists an absolute path: "/b"; and 1 more bad paths');
  });
});
