/** "Did you mean ...?": the nearest of a list of names to a misspelt one. */
import { quote } from './errors.ts';

/** The candidate within edit distance 2 of a typo, if any (the closest; the first of equally close ones). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    if (Math.abs(c.length - word.length) >= bestDistance) continue; // the distance is at least that
    const d = editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/**
 * The name a user most likely meant: the {@link closest} one, else the only candidate that starts
 * with what was typed (at least 3 characters: `prod` for `production`).
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const near = closest(word, candidates);
  if (near !== undefined || word.length < 3) return near;
  const prefixed = candidates.filter((c) => c.startsWith(word));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** ` (did you mean 'x'?)`, or nothing when no candidate is close. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const hint = suggest(word, candidates);
  return hint === undefined ? '' : ` (did you mean ${quote(hint)}?)`;
}

/** `unknown environment 'prod' (did you mean 'production'?); known: dev, staging, production`. */
export function unknownEnvironment(name: string, known: readonly string[]): string {
  return `unknown environment ${quote(name)}${didYouMean(name, known)}; known: ${known.join(', ')}`;
}

/**
 * `unknown flag 'x' (did you mean 'y'?): it is not in environments/catalog.yaml`. Without a close
 * name, `declare` adds the advice to declare it (for commands where a new flag is a likely intent).
 */
export function unknownFlag(name: string, catalog: readonly string[], catalogFile: string, declare = false): string {
  const hint = didYouMean(name, catalog);
  return `unknown flag ${quote(name)}${hint}: it is not in ${catalogFile}${declare && !hint ? ' (declare it with flagops add)' : ''}`;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1 (as commander's suggestions). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row.push(d);
    }
    [before, previous] = [previous, row];
  }
  return previous[b.length]!;
}
