/** Number formatting as R does it (as.character / paste, and formatC(.., format = "g") for cut labels). */

/** R's as.character(<double>): up to 15 significant digits, fixed unless scientific is narrower. */
export function formatR(x: number): string {
  if (Number.isNaN(x)) return 'NA';
  if (x === Number.POSITIVE_INFINITY) return 'Inf';
  if (x === Number.NEGATIVE_INFINITY) return '-Inf';
  if (x === 0) return '0';
  const full = Number(x.toPrecision(15));
  let d = 1;
  while (d < 15 && Number(x.toPrecision(d)) !== full) d++;
  const neg = x < 0 ? 1 : 0;
  const expStr = full.toExponential(d - 1); // m.mmme±x
  const [mant, ex] = expStr.split('e') as [string, string];
  const e = Number(ex);
  const sciW = neg + (d > 1 ? d + 1 : 1) + (Math.abs(e) >= 100 ? 5 : 4);
  let fixW: number;
  let decimals: number;
  if (e >= 0) {
    decimals = Math.max(0, d - 1 - e);
    fixW = neg + e + 1 + (decimals > 0 ? decimals + 1 : 0);
  } else {
    decimals = d - 1 - e;
    fixW = neg + 2 + decimals;
  }
  if (fixW <= sciW) return full.toFixed(decimals);
  const ae = Math.abs(e);
  return `${mant}e${e < 0 ? '-' : '+'}${ae < 10 ? `0${ae}` : ae}`;
}

/** C's printf("%.<digits>g") as used by R's formatC(x, digits, width = 1, format = "g"). */
export function formatG(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Inf' : '-Inf';
  if (x === 0) return '0';
  const p = Math.max(1, digits);
  const es = x.toExponential(p - 1);
  const e = Number(es.split('e')[1]);
  if (e < -4 || e >= p) {
    let [m, ex] = es.split('e') as [string, string];
    if (m.includes('.')) m = m.replace(/0+$/, '').replace(/\.$/, '');
    const n = Number(ex);
    const a = Math.abs(n);
    return `${m}e${n < 0 ? '-' : '+'}${a < 10 ? `0${a}` : a}`;
  }
  let s = x.toFixed(Math.max(0, p - 1 - e));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}
