// Statistics shared by the bench scripts (run.mjs, client.mjs, cluster.mjs, ab.mjs,
// envelope-cost.mjs).

/** The median of the numbers in `xs` (the mean of the middle two for an even count); null if none. */
export function median(xs) {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The `p`th percentile of the ascending numbers in `sorted` (nearest rank below); 0 if none. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
