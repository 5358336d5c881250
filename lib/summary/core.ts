/**
 * Building blocks shared by the summary accumulators: reading numeric / factor terms
 * from a chunk, factor grids (cells of one or more factors, levels that may grow from
 * chunk to chunk or differ between workers), and numerically stable weighted moments.
 *
 * Moments: each chunk is summarised per cell with a corrected two-pass pass over blocks
 * of at most BLOCK rows (mean m = sum(w x)/W, then M2 = sum(w (x-m)^2) - (sum(w (x-m)))^2 / W),
 * and block / chunk / worker summaries are combined with the pairwise update of
 * Chan, Golub & LeVeque (1979):
 *     W = Wa + Wb, d = mb - ma, mean = ma + d Wb / W, M2 = M2a + M2b + d^2 Wa Wb / W.
 * Both steps are exact in exact arithmetic, associative, and keep rounding relative to
 * the spread of the data (not its magnitude), which is what the NIST StRD sets test.
 *
 * Decimal data: a number read from decimal text with at most 15 significant digits is the
 * nearest double to exactly one such decimal (IEEE 754's DBL_DIG = 15 round-trip guarantee),
 * so that decimal can be recovered from the double as a scaled integer q / 10^s. For an
 * unweighted block whose magnitude is large against its spread (max |x| > 16 sd, where the
 * reading error could show) and whose values (and the cell's shift) are all such decimals with
 * s >= 1 decimals and small scaled deviations, the block's mean and M2 are computed from the exact
 * integers (decimalBlock) instead of from the doubles, and shifts are subtracted as decimals
 * when partial results are combined (shiftDelta). The statistics then describe the decimal
 * values the text held, as the NIST certificates assume (NumAcc4: values 10000000.x, whose
 * doubles are off by up to 9.3e-10, i.e. 1e-8 of the 0.1 spread): LRE >= 13 instead of 8.3.
 * Integer data (s = 0) and data that are not short decimals keep the double path, which is
 * exact with respect to those doubles up to rounding. Weighted and grouped moments (fweights,
 * pweights, y:F, cube cells) take the same decimal path per cell and block (decimalCell): exact
 * integer sums without weights; with weights, corrected two-pass sums of w d over the exact
 * integer deviations d (w d is not an integer for real weights, but its rounding is relative
 * to the spread, not to the magnitude, which is all the decimal path is for).
 */
import { RxError } from '../errors.js';
import type { Chunk, Column, ColumnInfo, Schema } from '../data/types.js';
import type { SVar } from './terms.js';

export const BLOCK = 4096;

// ---------------------------------------------------------------------------------------
// Columns -> numbers / codes

export function columnInfo(schema: Schema, name: string, term: string): ColumnInfo {
  const c = schema.columns.find((x) => x.name === name);
  if (!c) {
    throw new RxError('RX_FORMULA', `Unknown variable "${name}" in term "${term}"; available: ${schema.columns.map((x) => x.name).join(', ')}`, {
      column: name,
      text: term,
    });
  }
  return c;
}

export function isNumericType(t: string): boolean {
  return t === 'float64' || t === 'float32' || t === 'int32' || t === 'int16' || t === 'uint8' || t === 'bool' || t === 'date' || t === 'timestamp';
}

export function isFactorType(t: string): boolean {
  return t === 'factor' || t === 'string';
}

function chunkColumn(chunk: Chunk, name: string, term: string): Column {
  const col = chunk.columns[name];
  if (!col) throw new RxError('RX_FORMULA', `Unknown variable "${name}" in term "${term}"`, { column: name, text: term });
  return col;
}

/** A numeric column as Float64Array with NaN at missing rows (no copy for float64 without `valid`). */
export function numericOf(chunk: Chunk, name: string, term: string): Float64Array {
  const col = chunkColumn(chunk, name, term);
  if (!isNumericType(col.type)) {
    throw new RxError('RX_FORMULA', `Variable "${name}" in term "${term}" is a ${col.type}; a numeric variable is required here (use it as a factor term instead)`, {
      column: name,
      text: term,
    });
  }
  const n = chunk.numRows;
  // float64 columns hold NaN at every missing position (data contract), so no copy is needed
  if (col.type === 'float64') return col.data as Float64Array;
  const src = col.data as ArrayLike<number>;
  const out = new Float64Array(n);
  const valid = col.valid;
  for (let i = 0; i < n; i++) out[i] = valid && valid[i] === 0 ? Number.NaN : src[i]!;
  return out;
}

/** Factor levels tracked across chunks for one factor of a term. */
export interface FactorTrack {
  /** Source column. */
  name: string;
  kind: 'factor' | 'string' | 'F';
  levels: string[];
  /** F(x): integer range. */
  low?: number;
  high?: number;
  /** Output name (`F_age`), display label. */
  outName: string;
}

export function newTrack(v: SVar, info: ColumnInfo, range?: { low: number; high: number }): FactorTrack {
  if (v.asFactor) {
    if (!isNumericType(info.type)) {
      throw new RxError('RX_FORMULA', `F(${v.name}) needs a numeric variable but "${v.name}" is a ${info.type}`, { column: v.name, text: v.label });
    }
    const low = Math.trunc(v.low ?? range?.low ?? info.low ?? Number.NaN);
    const high = Math.trunc(v.high ?? range?.high ?? info.high ?? Number.NaN);
    const levels: string[] = [];
    if (Number.isFinite(low) && Number.isFinite(high)) {
      if (high - low > 1e6) throw new RxError('RX_ARG', `F(${v.name}) would create ${high - low + 1} levels (range ${low}..${high}); give low/high`, { text: v.label });
      for (let k = low; k <= high; k++) levels.push(String(k));
    }
    return { name: v.name, kind: 'F', levels, low, high, outName: v.outName };
  }
  if (info.type === 'factor') return { name: v.name, kind: 'factor', levels: [...(info.levels ?? [])], outName: v.outName };
  if (info.type === 'string') return { name: v.name, kind: 'string', levels: [], outName: v.outName };
  throw new RxError('RX_FORMULA', `Variable "${v.name}" is ${info.type}; use F(${v.name}) to treat it as a factor`, { column: v.name, text: v.label });
}

/**
 * Codes (0-based, -1 = missing/out of range) of the factor for each row; appends new levels
 * to `track`. The result may be the column's own array: treat it as read-only.
 */
export function codesOf(chunk: Chunk, track: FactorTrack, term: string): Int32Array {
  const col = chunkColumn(chunk, track.name, term);
  const n = chunk.numRows;
  const valid = col.valid;
  if (track.kind === 'F') {
    const out = new Int32Array(n);
    const x = numericOf(chunk, track.name, term);
    const lo = track.low!;
    const hi = track.high!;
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      if (Number.isNaN(v)) out[i] = -1;
      else {
        const k = Math.trunc(v);
        out[i] = k < lo || k > hi ? -1 : k - lo;
      }
    }
    return out;
  }
  if (track.kind === 'factor') {
    if (col.type !== 'factor') throw new RxError('RX_SCHEMA', `Variable "${track.name}" changed type to ${col.type} within the data`, { column: track.name });
    const lv = col.levels ?? [];
    // Chunk levels extend the schema levels (prefix rule); map by name when they differ.
    let same = lv.length >= track.levels.length;
    for (let k = 0; same && k < track.levels.length; k++) same = lv[k] === track.levels[k];
    const codes = col.data as Int32Array;
    if (same) {
      for (let k = track.levels.length; k < lv.length; k++) track.levels.push(lv[k]!);
      if (!valid) return codes; // read-only view: callers never write into codes
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = valid[i] === 0 ? -1 : codes[i]!;
      return out;
    }
    const out = new Int32Array(n);
    const index = new Map(track.levels.map((l, k) => [l, k]));
    const map = new Int32Array(lv.length);
    for (let k = 0; k < lv.length; k++) {
      let j = index.get(lv[k]!);
      if (j === undefined) {
        j = track.levels.length;
        track.levels.push(lv[k]!);
        index.set(lv[k]!, j);
      }
      map[k] = j;
    }
    for (let i = 0; i < n; i++) out[i] = valid && valid[i] === 0 ? -1 : map[codes[i]!]!;
    return out;
  }
  // string column: map values to levels in order of appearance (sorted at finalize).
  const out = new Int32Array(n);
  const data = col.data as Array<string | null>;
  const index = new Map(track.levels.map((l, k) => [l, k]));
  for (let i = 0; i < n; i++) {
    const s = data[i];
    if (s === null || s === undefined || (valid && valid[i] === 0)) {
      out[i] = -1;
      continue;
    }
    let j = index.get(s);
    if (j === undefined) {
      j = track.levels.length;
      track.levels.push(s);
      index.set(s, j);
    }
    out[i] = j;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Grids of cells over several factors (first factor varies fastest, as in R).

export function gridSize(dims: number[]): number {
  let s = 1;
  for (const d of dims) s *= d;
  return s;
}

/**
 * Cell index per row (-1 where any factor is missing). With one factor this is the codes
 * array itself: treat the result as read-only (copy before writing).
 */
export function cellIndex(codes: Int32Array[], dims: number[], n: number): Int32Array {
  if (codes.length === 1) return codes[0]!;
  const out = new Int32Array(n);
  if (codes.length === 0) return out;
  out.set(codes[0]!);
  let stride = dims[0]!;
  for (let f = 1; f < codes.length; f++) {
    const c = codes[f]!;
    for (let i = 0; i < n; i++) {
      const o = out[i]!;
      const k = c[i]!;
      out[i] = o < 0 || k < 0 ? -1 : o + k * stride;
    }
    stride *= dims[f]!;
  }
  return out;
}

/** Moves per-cell values from a grid of `oldDims` into `newDims`, mapping each factor's old level k to maps[f][k]. */
export function remapCells(arr: Float64Array, oldDims: number[], newDims: number[], maps: (Int32Array | null)[], fill: number): Float64Array {
  const out = new Float64Array(gridSize(newDims)).fill(fill);
  const total = gridSize(oldDims);
  const idx = new Array<number>(oldDims.length).fill(0);
  for (let c = 0; c < total; c++) {
    let r = c;
    for (let f = 0; f < oldDims.length; f++) {
      idx[f] = r % oldDims[f]!;
      r = Math.floor(r / oldDims[f]!);
    }
    let j = 0;
    let stride = 1;
    for (let f = 0; f < oldDims.length; f++) {
      const m = maps[f];
      j += (m ? m[idx[f]!]! : idx[f]!) * stride;
      stride *= newDims[f]!;
    }
    out[j] = arr[c]!;
  }
  return out;
}

/** Mapping of `from` levels onto `into` (appending unknown ones to `into`). */
export function levelMap(from: string[], into: string[]): Int32Array {
  const index = new Map(into.map((l, k) => [l, k]));
  const m = new Int32Array(from.length);
  for (let k = 0; k < from.length; k++) {
    let j = index.get(from[k]!);
    if (j === undefined) {
      j = into.length;
      into.push(from[k]!);
      index.set(from[k]!, j);
    }
    m[k] = j;
  }
  return m;
}

// ---------------------------------------------------------------------------------------
// Weighted moments per cell

export interface Moments {
  /** Rows with a valid value (unweighted count). */
  n: Float64Array;
  /** Sum of weights (== n without weights). */
  w: Float64Array;
  /** Shift: the first value seen in the cell (NaN until then); `mean` is relative to it. */
  k: Float64Array;
  /** Mean of (x - k). */
  mean: Float64Array;
  m2: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

export const MOMENT_KEYS = ['n', 'w', 'k', 'mean', 'm2', 'min', 'max'] as const;
const MOMENT_FILL: Record<(typeof MOMENT_KEYS)[number], number> = { n: 0, w: 0, k: Number.NaN, mean: 0, m2: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };

export function newMoments(cells: number): Moments {
  return {
    n: new Float64Array(cells),
    w: new Float64Array(cells),
    k: new Float64Array(cells).fill(Number.NaN),
    mean: new Float64Array(cells),
    m2: new Float64Array(cells),
    min: new Float64Array(cells).fill(Number.POSITIVE_INFINITY),
    max: new Float64Array(cells).fill(Number.NEGATIVE_INFINITY),
  };
}

export function remapMoments(m: Moments, oldDims: number[], newDims: number[], maps: (Int32Array | null)[]): Moments {
  const out = {} as Moments;
  for (const k of MOMENT_KEYS) out[k] = remapCells(m[k], oldDims, newDims, maps, MOMENT_FILL[k]);
  return out;
}

/** Mean of cell i (NaN when empty). */
export function meanOf(m: Moments, i: number): number {
  return m.n[i]! > 0 ? m.k[i]! + m.mean[i]! : Number.NaN;
}

// ---------------------------------------------------------------------------------------
// Decimal recovery

const POW10 = Array.from({ length: 16 }, (_, s) => 10 ** s);
/** |q| below 2^51: x * 10^s is then within 0.5 of q, so Math.round recovers q exactly. */
const DEC_LIMIT = 2 ** 51;
/** Scaled deviations up to 2^20 keep a block's sum of squares (<= 4096 * 2^40) exact in a double. */
const DEC_DEV = 2 ** 20;

/**
 * Smallest s >= from (s <= 15) such that v is the double nearest to the decimal q / 10^s for an
 * integer |q| < 2^51; -1 when there is none. Division of two exact doubles is correctly rounded,
 * so `q / 10^s === v` is an exact test.
 */
export function decimalScale(v: number, from: number): number {
  for (let s = from; s <= 15; s++) {
    const p = POW10[s]!;
    const q = Math.round(v * p);
    if (!(Math.abs(q) < DEC_LIMIT)) return -1;
    if (q / p === v) return s;
  }
  return -1;
}

/** kb - ka, subtracted as decimals when both are short decimals (see the header). */
export function shiftDelta(kb: number, ka: number): number {
  const sa = decimalScale(ka, 0);
  if (sa < 0) return kb - ka;
  const sb = decimalScale(kb, 0);
  if (sb < 0 || (sa === 0 && sb === 0)) return kb - ka;
  const s = Math.max(sa, sb);
  const p = POW10[s]!;
  if (!(Math.abs(ka) * p < DEC_LIMIT && Math.abs(kb) * p < DEC_LIMIT)) return kb - ka;
  return (Math.round(kb * p) - Math.round(ka * p)) / p;
}

/**
 * Mean (relative to shift sh) and M2 of the non-missing x[b0..b1) (cnt of them, all within
 * [mn, mx], at most BLOCK) computed from their exact decimal values, or null when the block is
 * not a block of short decimals with at least one decimal place and small scaled deviations.
 */
function decimalBlock(x: Float64Array, b0: number, b1: number, sh: number, cnt: number, mn: number, mx: number): { mean: number; m2: number } | null {
  let s = decimalScale(sh, 0);
  if (s < 0) return null;
  let p = POW10[s]!;
  for (let i = b0; i < b1; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) continue;
    if (Math.round(v * p) / p !== v) {
      // a finer scale keeps every earlier value exact (q -> 10 q) while |q| < 2^51
      s = decimalScale(v, s + 1);
      if (s < 0) return null;
      p = POW10[s]!;
    }
  }
  if (s === 0) return null; // integers: the double path is already exact
  if (!(Math.max(Math.abs(mn), Math.abs(mx), Math.abs(sh)) * p < DEC_LIMIT)) return null;
  const q0 = Math.round(sh * p);
  let s1 = 0;
  let s2 = 0;
  for (let i = b0; i < b1; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) continue;
    const d = Math.round(v * p) - q0;
    if (d > DEC_DEV || d < -DEC_DEV) return null;
    s1 += d; // exact: |s1| <= 2^32
    s2 += d * d; // exact: s2 <= 2^52
  }
  const S1 = BigInt(s1);
  const nm2 = BigInt(cnt) * BigInt(s2) - S1 * S1; // n * sum (d - mean d)^2, exact
  return { mean: s1 / cnt / p, m2: Number(nm2) / cnt / p / p };
}

/**
 * decimalBlock for one cell of a weighted or grouped block: its rows are idx[0..cnt) of x
 * (non-missing, weight >= 0), weights w (null = 1), total weight W > 0. The values become exact
 * integer deviations d = q - q0 from the cell's shift (q = the value's decimal digits at scale
 * s). Unweighted: mean and M2 from exact integer sums (as decimalBlock). Weighted: the
 * corrected two-pass formulas over the integer deviations in doubles; w d is then not an
 * exact integer for real weights, but its rounding is relative to the spread (d), not to the
 * magnitude of x, which is what the decimal path is for (the weights are not decimals to
 * recover, they are used as given). Null when the values are not short decimals with s >= 1.
 */
function decimalCell(x: Float64Array, idx: Int32Array, cnt: number, w: Float64Array | null, W: number, sh: number, mn: number, mx: number): { mean: number; m2: number } | null {
  let s = decimalScale(sh, 0);
  if (s < 0) return null;
  let p = POW10[s]!;
  for (let k = 0; k < cnt; k++) {
    const v = x[idx[k]!]!;
    if (Math.round(v * p) / p !== v) {
      s = decimalScale(v, s + 1);
      if (s < 0) return null;
      p = POW10[s]!;
    }
  }
  if (s === 0) return null;
  if (!(Math.max(Math.abs(mn), Math.abs(mx), Math.abs(sh)) * p < DEC_LIMIT)) return null;
  const q0 = Math.round(sh * p);
  if (!w) {
    let s1 = 0;
    let s2 = 0;
    for (let k = 0; k < cnt; k++) {
      const d = Math.round(x[idx[k]!]! * p) - q0;
      if (d > DEC_DEV || d < -DEC_DEV) return null;
      s1 += d;
      s2 += d * d;
    }
    const S1 = BigInt(s1);
    const nm2 = BigInt(cnt) * BigInt(s2) - S1 * S1;
    return { mean: s1 / cnt / p, m2: Number(nm2) / cnt / p / p };
  }
  let s1 = 0;
  for (let k = 0; k < cnt; k++) {
    const i = idx[k]!;
    const d = Math.round(x[i]! * p) - q0;
    if (d > DEC_DEV || d < -DEC_DEV) return null;
    s1 += w[i]! * d;
  }
  const mu = s1 / W;
  let ss = 0;
  let sc = 0;
  for (let k = 0; k < cnt; k++) {
    const i = idx[k]!;
    const e = Math.round(x[i]! * p) - q0 - mu;
    ss += w[i]! * e * e;
    sc += w[i]! * e;
  }
  return { mean: (mu + sc / W) / p, m2: Math.max(0, ss - (sc * sc) / W) / p / p };
}

/**
 * Chan et al. pairwise combination into cell i of `a` of a summary whose mean is `mb`
 * relative to shift `kb` (shifts keep deviations small: values near 1e7 that differ in the
 * last digits keep all their digits, NIST NumAcc4).
 */
export function combineCell(a: Moments, i: number, nb: number, wb: number, kb: number, mb: number, m2b: number, minb: number, maxb: number): void {
  if (nb === 0) return;
  const wa = a.w[i]!;
  if (Number.isNaN(a.k[i]!)) a.k[i] = kb;
  else if (kb !== a.k[i]) mb += shiftDelta(kb, a.k[i]!);
  if (a.n[i] === 0) {
    a.n[i] = nb;
    a.w[i] = wb;
    a.mean[i] = mb;
    a.m2[i] = m2b;
  } else {
    const w = wa + wb;
    const d = mb - a.mean[i]!;
    a.n[i] = a.n[i]! + nb;
    a.w[i] = w;
    if (w > 0) {
      a.mean[i] = a.mean[i]! + (d * wb) / w;
      a.m2[i] = a.m2[i]! + m2b + ((d * d * wa) / w) * wb;
    }
  }
  if (minb < a.min[i]!) a.min[i] = minb;
  if (maxb > a.max[i]!) a.max[i] = maxb;
}

export function mergeMoments(a: Moments, b: Moments): Moments {
  const cells = a.n.length;
  for (let i = 0; i < cells; i++) combineCell(a, i, b.n[i]!, b.w[i]!, b.k[i]!, b.mean[i]!, b.m2[i]!, b.min[i]!, b.max[i]!);
  return a;
}

/**
 * Adds rows of x (NaN = missing) with optional weights (NaN/negative weight = row skipped)
 * into `m`, grouped by `cell` (-1 = skip; undefined = everything into cell 0).
 * Returns the number of rows skipped because x was missing (per cell in `missing` when given).
 */
export function accumulateMoments(
  m: Moments,
  x: Float64Array,
  w: Float64Array | null,
  cell: Int32Array | null,
  missing: Float64Array | null,
): void {
  const n = x.length;
  const cells = m.n.length;
  if (!w && !cell && cells === 1) {
    accumulateSimple(m, x, missing);
    return;
  }
  const bn = new Float64Array(cells);
  const bw = new Float64Array(cells);
  const bs = new Float64Array(cells);
  const bm2 = new Float64Array(cells);
  const bc = new Float64Array(cells);
  const bmin = new Float64Array(cells);
  const bmax = new Float64Array(cells);
  const bstart = new Float64Array(cells);
  // shifts: the cell's own shift, or the first value of the cell met in this call
  const ks = m.k.slice();
  for (let b0 = 0; b0 < n; b0 += BLOCK) {
    const b1 = Math.min(n, b0 + BLOCK);
    bn.fill(0);
    bw.fill(0);
    bs.fill(0);
    bmin.fill(Number.POSITIVE_INFINITY);
    bmax.fill(Number.NEGATIVE_INFINITY);
    // pass 1: counts, weighted sums of (x - shift), min, max
    for (let i = b0; i < b1; i++) {
      const c = cell ? cell[i]! : 0;
      if (c < 0) continue;
      const v = x[i]!;
      const wi = w ? w[i]! : 1;
      if (!(wi >= 0)) continue;
      if (Number.isNaN(v)) {
        if (missing) missing[c] = missing[c]! + 1;
        continue;
      }
      let sh = ks[c]!;
      if (Number.isNaN(sh)) sh = ks[c] = v;
      bn[c] = bn[c]! + 1;
      bw[c] = bw[c]! + wi;
      bs[c] = bs[c]! + wi * (v - sh);
      if (v < bmin[c]!) bmin[c] = v;
      if (v > bmax[c]!) bmax[c] = v;
    }
    for (let c = 0; c < cells; c++) bs[c] = bw[c]! > 0 ? bs[c]! / bw[c]! : 0; // block means
    bm2.fill(0);
    bc.fill(0);
    // pass 2: centred sums (corrected two-pass)
    for (let i = b0; i < b1; i++) {
      const c = cell ? cell[i]! : 0;
      if (c < 0) continue;
      const v = x[i]!;
      const wi = w ? w[i]! : 1;
      if (!(wi >= 0) || Number.isNaN(v)) continue;
      const d = v - ks[c]! - bs[c]!;
      bm2[c] = bm2[c]! + wi * d * d;
      bc[c] = bc[c]! + wi * d;
    }
    let idx: Int32Array | null = null; // the block's rows grouped by cell, built when a cell needs its decimals
    for (let c = 0; c < cells; c++) {
      const nb = bn[c]!;
      if (nb === 0) continue;
      const wb = bw[c]!;
      const corr = wb > 0 ? bc[c]! / wb : 0;
      let mean = bs[c]! + corr;
      let m2 = Math.max(0, bm2[c]! - corr * bc[c]!);
      // as in accumulateSimple: where the magnitude dwarfs the spread, use the decimals the doubles were read from
      if (wb > 0 && Math.max(-bmin[c]!, bmax[c]!) > 16 * Math.sqrt(m2 / wb)) {
        idx ??= groupRows(x, w, cell, b0, b1, offsets(bn, bstart), scratchIdx(b1 - b0));
        const dec = decimalCell(x, idx.subarray(bstart[c]!, bstart[c]! + nb), nb, w, wb, ks[c]!, bmin[c]!, bmax[c]!);
        if (dec) {
          mean = dec.mean;
          m2 = dec.m2;
        }
      }
      combineCell(m, c, nb, wb, ks[c]!, mean, m2, bmin[c]!, bmax[c]!);
    }
  }
}

let idxScratch = new Int32Array(0);
function scratchIdx(n: number): Int32Array {
  if (idxScratch.length < n) idxScratch = new Int32Array(Math.max(n, BLOCK));
  return idxScratch;
}

/** Start of each cell's rows in the grouped order (exclusive prefix sums of the counts), into `out`. */
function offsets(counts: Float64Array, out: Float64Array): Float64Array {
  let at = 0;
  for (let c = 0; c < counts.length; c++) {
    out[c] = at;
    at += counts[c]!;
  }
  return out;
}

/** Rows b0..b1 that accumulateMoments counted (cell >= 0, weight >= 0, x present), grouped by cell (counting sort). */
function groupRows(x: Float64Array, w: Float64Array | null, cell: Int32Array | null, b0: number, b1: number, start: Float64Array, out: Int32Array): Int32Array {
  const next = start.slice();
  for (let i = b0; i < b1; i++) {
    const c = cell ? cell[i]! : 0;
    if (c < 0) continue;
    const wi = w ? w[i]! : 1;
    if (!(wi >= 0) || Number.isNaN(x[i]!)) continue;
    out[next[c]!] = i;
    next[c] = next[c]! + 1;
  }
  return out;
}

/** accumulateMoments for one cell, no weights: the same corrected two-pass blocks in tight loops. */
function accumulateSimple(m: Moments, x: Float64Array, missing: Float64Array | null): void {
  const n = x.length;
  let miss = 0;
  let sh = m.k[0]!;
  for (let b0 = 0; b0 < n; b0 += BLOCK) {
    const b1 = Math.min(n, b0 + BLOCK);
    if (Number.isNaN(sh)) {
      for (let i = b0; i < b1; i++) {
        if (!Number.isNaN(x[i]!)) {
          sh = x[i]!;
          break;
        }
      }
    }
    let cnt = 0;
    let s = 0;
    let mn = Number.POSITIVE_INFINITY;
    let mx = Number.NEGATIVE_INFINITY;
    for (let i = b0; i < b1; i++) {
      const v = x[i]!;
      if (Number.isNaN(v)) continue; // missing
      cnt++;
      s += v - sh;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    miss += b1 - b0 - cnt;
    if (cnt === 0) continue;
    const mean = s / cnt;
    let ss = 0;
    let sc = 0;
    const c0 = sh + mean;
    if (cnt === b1 - b0) {
      // no missing values in the block: no test in the loop
      for (let i = b0; i < b1; i++) {
        const d = x[i]! - c0;
        ss += d * d;
        sc += d;
      }
    } else {
      for (let i = b0; i < b1; i++) {
        const v = x[i]!;
        if (Number.isNaN(v)) continue; // missing
        const d = v - c0;
        ss += d * d;
        sc += d;
      }
    }
    // mean of (x - sh) is mean + sc / cnt; M2 = sum (x - c0)^2 - sc^2 / cnt (corrected two-pass)
    const corr = sc / cnt + (c0 - sh - mean);
    const m2 = Math.max(0, ss - (sc * sc) / cnt);
    // Reading decimals into doubles moves each value by <= 2^-53 |x|, which moves the sd by
    // at most as much: below 2^-49 of the block's sd when max |x| <= 16 sd, and then the
    // doubles are as good as the decimals. Otherwise use the decimals themselves when they are.
    if (Math.max(-mn, mx) > 16 * Math.sqrt(m2 / cnt)) {
      const dec = decimalBlock(x, b0, b1, sh, cnt, mn, mx);
      if (dec) {
        combineCell(m, 0, cnt, cnt, sh, dec.mean, dec.m2, mn, mx);
        continue;
      }
    }
    combineCell(m, 0, cnt, cnt, sh, mean + corr, m2, mn, mx);
  }
  if (missing) missing[0] = missing[0]! + miss;
}

/** Weights column (NaN where missing) or null. */
export function weightsOf(chunk: Chunk, name: string | undefined): Float64Array | null {
  if (!name) return null;
  return numericOf(chunk, name, name);
}

export function stdDev(m: Moments, i: number): number {
  const w = m.w[i]!;
  return w > 1 ? Math.sqrt(m.m2[i]! / (w - 1)) : Number.NaN;
}

export function cloneMoments(m: Moments): Moments {
  const out = {} as Moments;
  for (const k of MOMENT_KEYS) out[k] = m[k].slice();
  return out;
}
