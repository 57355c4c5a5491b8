import { describe, expect, it } from 'vitest';
import { didYouMean, nearestWords } from '../../lib/did-you-mean.ts';

describe('did you mean', () => {
  it('offers the nearest names, within a distance that grows with the word', () => {
    expect(didYouMean('bakup', ['backup', 'basebackup', 'restore'])).toBe('did you mean backup?');
    expect(didYouMean('dbb', ['db', 'drop'], (n) => `--${n}`)).toBe('did you mean --db?');
    expect(nearestWords('keep_last', ['keep-last', 'keep-daily'])).toEqual(['keep-last']);
    expect(didYouMean('ab', ['ac', 'ad', 'xy'])).toBe('did you mean ac or ad?');
  });

  it('offers the one name a word begins, and nothing far-fetched', () => {
    expect(nearestWords('verb', ['verbose', 'verify'])).toEqual(['verbose']);
    expect(nearestWords('ver', ['verbose', 'verify'])).toEqual([]);
    expect(didYouMean('xyzzy', ['backup', 'restore'])).toBeUndefined();
    expect(nearestWords('backup', ['backup'])).toEqual([]);
  });
});
