import { editDistance } from './edit-distance.ts';

// The candidates nearest a mistyped word (at most three, nearest first), for "did you mean": within one edit for a
// word of up to five characters, two up to eight, three beyond; else the one candidate the word begins, if only one
// does (--verb for --verbose). Empty when nothing is near: a far-fetched guess misleads more than none.
export function nearestWords(word: string, candidates: Iterable<string>): string[] {
  const typed = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(typed.length / 3)));
  const scored: { name: string; d: number }[] = [];
  const prefixed: string[] = [];
  for (const name of new Set(candidates)) {
    if (name === word) continue;
    const d = editDistance(typed, name.toLowerCase());
    if (d <= limit) scored.push({ name, d });
    else if (typed.length >= 3 && name.toLowerCase().startsWith(typed)) prefixed.push(name);
  }
  if (scored.length) return scored.sort((a, b) => a.d - b.d).slice(0, 3).map((s) => s.name);
  return prefixed.length === 1 ? prefixed : [];
}

// "did you mean x?", "did you mean x or y?", or undefined when nothing is near.
export function didYouMean(word: string, candidates: Iterable<string>, show: (name: string) => string = (n) => n): string | undefined {
  const near = nearestWords(word, candidates).map(show);
  if (!near.length) return undefined;
  return `did you mean ${near.length === 1 ? near[0] : `${near.slice(0, -1).join(', ')} or ${near.at(-1)}`}?`;
}
