/**
 * Statistics shared by the benchmarks.
 */

/** The median of `xs` (for an even count, the upper of the middle two). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}
