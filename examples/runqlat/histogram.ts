/**
 * bcc's `print_log2_hist` (tools/lib/trace_helpers.c and bcc's Python
 * table.py): slot i counts values in [2^i, 2^(i+1)-1], slot 0 also 0.
 */

const STARS_MAX = 40;

function stars(val: number, max: number, width: number): string {
  // bcc's _stars: a full bar is `width` stars; "+" marks a clipped one.
  let n = Math.min(width, Math.floor((width * val) / max));
  let text = "*".repeat(Math.max(0, n));
  if (val > max) text = text.slice(0, -1) + "+";
  n = text.length;
  return text + " ".repeat(width - n);
}

/** The histogram of `slots` as bcc prints it; "" when every slot is 0. */
export function log2Histogram(slots: readonly number[], unit: string): string {
  let idxMax = -1;
  let valMax = 0;
  slots.forEach((v, i) => {
    if (v > 0) idxMax = i;
    if (v > valMax) valMax = v;
  });
  if (idxMax < 0) return "";
  const wide = idxMax > 32;
  const width = wide ? 20 : 10;
  const bar = wide ? STARS_MAX / 2 : STARS_MAX;
  const out = [
    wide
      ? `${" ".repeat(15)}${unit.padEnd(29)} : count     distribution`
      : `${" ".repeat(5)}${unit.padEnd(19)} : count     distribution`,
  ];
  for (let i = 0; i <= idxMax; i++) {
    let low = 2 ** (i + 1) / 2;
    const high = 2 ** (i + 1) - 1;
    if (low === high) low -= 1;
    const v = slots[i] ?? 0;
    out.push(
      `${String(low).padStart(width)} -> ${String(high).padEnd(width)} : ${String(v).padEnd(8)} |${stars(v, valMax, bar)}|`,
    );
  }
  return out.join("\n") + "\n";
}
