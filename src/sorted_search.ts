/**
 * Binary search over sorted addresses, shared by the symbol tables
 * (kernel, executables, JIT perf maps): which symbol an address falls in.
 */

/**
 * Index of the last element of `sorted` (ascending) at or below `x`;
 * -1 when `x` is below them all or `sorted` is empty.
 */
export function lastAtOrBelow(sorted: BigUint64Array, x: bigint): number {
  let lo = 0;
  let hi = sorted.length - 1;
  if (hi < 0 || x < sorted[0]!) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (sorted[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
