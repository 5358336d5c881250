/**
 * Text formatting in the style of R / RevoScaleR print methods: numbers in a column share
 * one number of decimals, chosen so every entry shows `digits` significant digits
 * (R's formatReal without scientific notation for ordinary magnitudes).
 */

function neededDecimals(x: number, digits: number): number {
  if (!Number.isFinite(x) || x === 0) return 0;
  const s = Math.abs(x).toPrecision(digits);
  // toPrecision gives either "d.ddd" / "ddd.d" or "d.ddde+N"
  let mant = s;
  let exp: number;
  const ei = s.indexOf('e');
  if (ei >= 0) {
    mant = s.slice(0, ei);
    exp = Number(s.slice(ei + 1));
  } else {
    const dot = s.indexOf('.');
    const intPart = dot >= 0 ? s.slice(0, dot) : s;
    exp = intPart === '0' ? -(/^0\.(0*)/.exec(s)?.[1]?.length ?? 0) - 1 : intPart.length - 1;
  }
  const digitsOnly = mant.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  const sig = Math.max(1, digitsOnly.length);
  return Math.max(0, sig - 1 - exp);
}

/** Formats numbers like R's format(x, digits): common decimals, NA for NaN / missing. */
export function formatNumbers(xs: readonly number[], digits = 7, na = 'NA'): string[] {
  let dec = 0;
  for (const x of xs) if (Number.isFinite(x)) dec = Math.max(dec, neededDecimals(x, digits));
  dec = Math.min(dec, 15);
  return xs.map((x) => {
    if (Number.isNaN(x)) return na;
    if (!Number.isFinite(x)) return x > 0 ? 'Inf' : '-Inf';
    if (Math.abs(x) >= 1e15 || (x !== 0 && Math.abs(x) < 1e-10)) return x.toPrecision(digits).replace(/\.?0+e/, 'e');
    return x.toFixed(dec);
  });
}

/** Formats one number with `digits` significant digits (R's print of a scalar). */
export function formatNumber(x: number, digits = 7): string {
  return formatNumbers([x], digits)[0]!;
}

export type Align = 'l' | 'r';

/**
 * Lays out a table: `header` row plus `rows`, each column padded to its widest cell.
 * Columns are separated by one space; `indent` is prefixed to each line.
 */
export function layoutTable(header: string[], rows: string[][], align: Align[], indent = '', headerAlign?: Align[]): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => (r[j] ?? '').length)));
  const pad = (s: string, w: number, a: Align) => (a === 'l' ? s.padEnd(w) : s.padStart(w));
  const lines = [header.map((h, j) => pad(h, widths[j]!, (headerAlign ?? align)[j] ?? 'l')).join(' ')];
  for (const r of rows) lines.push(r.map((c, j) => pad(c, widths[j]!, align[j] ?? 'r')).join(' '));
  return lines.map((l) => indent + l.replace(/\s+$/, '')).join('\n');
}
