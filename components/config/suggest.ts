// "Did you mean …?" for a misspelt key, field or list entry: the candidate that differs only in case, else
// the unique nearest one within a small edit distance (a slipped, missing, extra or swapped letter or two).

/** Edit distance counting a swap of two neighbouring letters as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidate `name` was probably meant to be, if one stands out; undefined otherwise. */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const sameButCase = candidates.find((c) => c.toLowerCase() === lower);
  if (sameButCase !== undefined) return sameButCase;
  // Short names allow one edit, longer ones two: beyond that a "suggestion" is a guess.
  const allowed = lower.length <= 4 ? 1 : 2;
  const scored = candidates
    .map((c) => ({ c, distance: editDistance(lower, c.toLowerCase()) }))
    .filter((s) => s.distance <= allowed)
    .sort((x, y) => x.distance - y.distance);
  if (scored.length === 0 || (scored.length > 1 && scored[1].distance === scored[0].distance))
    return undefined;
  return scored[0].c;
}

/** ` (did you mean "e2Region"?)` when a candidate stands out, else an empty string. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const guess = nearest(name, candidates);
  return guess === undefined ? "" : ` (did you mean ${JSON.stringify(guess)}?)`;
}
