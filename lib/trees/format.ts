/** R-style number formatting used by the tree printers. */

/** Significant digits needed (<= digits) to show x at `digits` precision. */
function sigNeeded(x: number, digits: number): number {
  if (x === 0 || !Number.isFinite(x)) return 1;
  const s = Number(x.toPrecision(digits));
  for (let d = 1; d <= digits; d++) if (Number(s.toPrecision(d)) === s) return d;
  return digits;
}

/**
 * Like R's format(x, digits = d) on a vector: common number of decimals, fixed notation.
 * `signifFirst` rounds each value to `digits` significant digits first (format(signif(x, d))).
 */
export function formatCommon(xs: number[], digits = 7, signifFirst = false): string[] {
  if (signifFirst) xs = xs.map((x) => (Number.isFinite(x) ? Number(x.toPrecision(digits)) : x));
  let dec = 0;
  for (const x of xs) {
    if (x === 0 || !Number.isFinite(x)) continue;
    const e = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(digits)))));
    dec = Math.max(dec, sigNeeded(x, digits) - 1 - e);
  }
  return xs.map((x) => (Number.isFinite(x) ? x.toFixed(dec) : String(x)));
}

/** Like R's format(signif(x, d)) on a single value. */
export function signifStr(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  const v = Number(x.toPrecision(digits));
  return String(v);
}

/** Right-justifies to a common width. */
export function padCommon(xs: string[]): string[] {
  const w = Math.max(0, ...xs.map((s) => s.length));
  return xs.map((s) => s.padStart(w));
}
