/**
 * rxQuantile: R's type-7 quantiles of one numeric variable, in bounded memory.
 *
 * Pass 1 counts the valid values, finds min / max and keeps the values while there are at
 * most `maxInMemory` of them; if they fit, the answer comes from sorting them (exact).
 * Otherwise each order statistic x_(r) needed by type 7 (ranks floor(h), floor(h)+1 with
 * h = (n-1)p) is located by histogram refinement: a pass over the data bins the values of
 * the interval known to hold x_(r) into `bins` equal-width bins; the bin holding rank r
 * becomes the next interval. A pass also keeps the interval's values while there are at
 * most `maxInMemory`, so as soon as an interval holds few enough values the order
 * statistic is read off exactly. Each pass shrinks the interval by a factor `bins` (or
 * ends when all its values are equal), so the result is EXACT after at most
 * ~ log(range / spacing) / log(bins) + 1 passes, with memory O(maxInMemory + bins * ranks).
 *
 * `method: 'approx'` stops after the first histogram pass and interpolates inside the bin:
 * every returned quantile is within (max - min) / bins of the exact type-7 value
 * (the order statistics both lie in their located bins, and type 7 interpolates between
 * them). Tests check both.
 *
 * Weights (fweights / pweights, accumulator 'rxQuantileWeighted'): the quantiles of the data
 * with each row repeated `w` times, i.e. type 7 over N = sum(w) (index 1 + (N - 1) p) with the
 * 1-based order statistic x_(L) = the smallest value whose cumulative weight reaches min(L, N)
 * (Hmisc::wtd.quantile(type = 'quantile', normwt = FALSE)). For integer fweights this is exactly
 * quantile(rep(x, w), type = 7); pweights use the same formula with real weights.
 * Histograms then hold weights instead of counts. Rows with a missing, zero or negative weight
 * are left out.
 */
import { registerAccumulator } from '../compute/pema.js';
import type { AccumulatorDef } from '../compute/pema.js';
import { RxError } from '../errors.js';
import { argError, expectNumber, expectOneOf, expectString } from '../validate.js';
import { columnInfo, isNumericType, numericOf, weightsOf } from './core.js';
import { formatNumbers } from './format.js';
import { type CommonOptions, runAcc, sourceOf } from './run.js';

interface Target {
  rank: number;
  lo: number;
  hi: number;
  /** hi belongs to the interval (the last bin of the data range). */
  hiIncl: boolean;
  /** Values strictly below lo. */
  below: number;
  /** Resolved value once known. */
  value?: number;
}

export interface QuantileSpec {
  varName: string;
  pass: 'first' | 'refine';
  maxInMemory: number;
  bins: number;
  approx: boolean;
  targets: Target[];
  passes: number;
  probs: number[];
  n?: number;
  missing?: number;
  /** Weight column (weighted accumulator only); n is then the sum of weights. */
  weights?: string;
  rows?: number;
}

interface QuantileState {
  n: number;
  missing: number;
  min: number;
  max: number;
  /** Kept values per target (first pass: one list); null once more than maxInMemory. */
  kept: (Float64Array[] | null)[];
  keptCount: number[];
  hist: Float64Array[];
  inMin: number[];
  inMax: number[];
  /** Weighted: weights of the kept values (parallel to kept), and valid rows (n is the weight total). */
  keptW?: (Float64Array[] | null)[];
  rows?: number;
}

export interface QuantileResult {
  probs: number[];
  values: number[];
  n: number;
  missing: number;
  passes: number;
  exact: boolean;
  /** Weighted: the sum of weights (type 7 runs over it); n is then the number of rows. */
  sumOfWeights?: number;
}

function edges(t: Target, bins: number): Float64Array {
  const e = new Float64Array(bins + 1);
  const w = (t.hi - t.lo) / bins;
  for (let k = 0; k < bins; k++) e[k] = t.lo + k * w;
  e[bins] = t.hi;
  return e;
}

function inInterval(v: number, t: Target): boolean {
  return v >= t.lo && (v < t.hi || (t.hiIncl && v === t.hi));
}

function sortedConcat(parts: Float64Array[]): Float64Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out.sort();
}

/** 0-based ranks of the order statistics type 7 needs (R: index = 1 + (n-1) p, lo = floor, hi = ceiling). */
function ranksFor(probs: number[], n: number): number[] {
  const r = new Set<number>();
  for (const p of probs) {
    const index = 1 + (n - 1) * p;
    r.add(Math.floor(index) - 1);
    r.add(Math.ceil(index) - 1);
  }
  return [...r].sort((a, b) => a - b);
}

/** Weighted order statistics: the smallest value whose cumulative weight reaches `thr` (the largest value when none does). */
function weightedOrder(vals: Float64Array[], wts: Float64Array[]): (thr: number) => number {
  const v = concat(vals);
  const w = concat(wts);
  const idx = Uint32Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const xs = new Float64Array(v.length);
  const cum = new Float64Array(v.length);
  let c = 0;
  for (let k = 0; k < idx.length; k++) {
    xs[k] = v[idx[k]!]!;
    c += w[idx[k]!]!;
    cum[k] = c;
  }
  return (thr) => {
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! >= thr) hi = mid;
      else lo = mid + 1;
    }
    return xs[lo]!;
  };
}

function concat(parts: Float64Array[]): Float64Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** R's quantile(type = 7) from order statistics, with R's arithmetic ((1 - h) x_lo + h x_hi). */
function type7(probs: number[], n: number, os: (rank: number) => number): number[] {
  return probs.map((p) => {
    if (n === 0) return Number.NaN;
    const index = 1 + (n - 1) * p;
    const lo = Math.floor(index);
    const hi = Math.ceil(index);
    const x0 = os(lo - 1);
    const h = index - lo;
    if (h <= 0) return x0;
    const x1 = os(hi - 1);
    return x1 === x0 ? x0 : (1 - h) * x0 + h * x1;
  });
}

const quantileImpl: Omit<AccumulatorDef<QuantileSpec, QuantileState, QuantileResult>, 'name'> = {
  columns(spec) {
    return spec.weights ? [spec.varName, spec.weights] : [spec.varName];
  },
  init(spec) {
    const k = spec.pass === 'first' ? 1 : spec.targets.length;
    const st: QuantileState = {
      n: 0,
      missing: 0,
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
      kept: Array.from({ length: k }, () => []),
      keptCount: new Array(k).fill(0),
      hist: spec.pass === 'first' ? [] : spec.targets.map(() => new Float64Array(spec.bins)),
      inMin: new Array(k).fill(Number.POSITIVE_INFINITY),
      inMax: new Array(k).fill(Number.NEGATIVE_INFINITY),
    };
    if (spec.weights) {
      st.keptW = Array.from({ length: k }, () => []);
      st.rows = 0;
    }
    return st;
  },
  process(spec, st, chunk) {
    const x = numericOf(chunk, spec.varName, spec.varName);
    const w = spec.weights ? weightsOf(chunk, spec.weights) : null;
    const n = x.length;
    if (spec.pass === 'first') {
      let cnt = 0;
      let miss = 0;
      let wsum = 0;
      let mn = st.min;
      let mx = st.max;
      const vals = new Float64Array(n);
      const wts = w ? new Float64Array(n) : null;
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        if (Number.isNaN(v)) {
          miss++;
          continue;
        }
        if (w) {
          const wi = w[i]!;
          if (!(wi > 0)) continue;
          wts![cnt] = wi;
          wsum += wi;
        }
        vals[cnt++] = v;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      st.min = mn;
      st.max = mx;
      st.n += w ? wsum : cnt;
      if (w) st.rows! += cnt;
      st.missing += miss;
      if (st.kept[0] !== null) {
        if (st.keptCount[0]! + cnt > spec.maxInMemory) {
          st.kept[0] = null;
          if (st.keptW) st.keptW[0] = null;
        } else {
          st.kept[0]!.push(vals.slice(0, cnt));
          if (wts) st.keptW![0]!.push(wts.slice(0, cnt));
          st.keptCount[0]! += cnt;
        }
      }
      return st;
    }
    spec.targets.forEach((t, k) => {
      if (t.value !== undefined) return;
      const e = edges(t, spec.bins);
      const B = spec.bins;
      const scale = t.hi > t.lo ? B / (t.hi - t.lo) : 0;
      const h = st.hist[k]!;
      const keep = st.kept[k] !== null;
      const buf = keep ? new Float64Array(Math.min(n, spec.maxInMemory + 1)) : null;
      const wbuf = keep && w ? new Float64Array(buf!.length) : null;
      let cnt = 0;
      let mn = st.inMin[k]!;
      let mx = st.inMax[k]!;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        if (!inInterval(v, t)) continue;
        const wi = w ? w[i]! : 1;
        if (!(wi > 0)) continue;
        let j = Math.min(B - 1, Math.floor((v - t.lo) * scale));
        while (j > 0 && v < e[j]!) j--;
        while (j < B - 1 && v >= e[j + 1]!) j++;
        h[j] = h[j]! + wi;
        total++;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
        if (buf && cnt < buf.length) {
          if (wbuf) wbuf[cnt] = wi;
          buf[cnt++] = v;
        }
      }
      st.inMin[k] = mn;
      st.inMax[k] = mx;
      if (keep) {
        if (st.keptCount[k]! + total > spec.maxInMemory) {
          st.kept[k] = null;
          if (st.keptW) st.keptW[k] = null;
        } else {
          st.kept[k]!.push(buf!.slice(0, cnt));
          if (wbuf) st.keptW![k]!.push(wbuf.slice(0, cnt));
          st.keptCount[k]! += total;
        }
      }
    });
    return st;
  },
  merge(spec, a, b) {
    a.n += b.n;
    a.missing += b.missing;
    if (a.rows !== undefined) a.rows += b.rows!;
    a.min = Math.min(a.min, b.min);
    a.max = Math.max(a.max, b.max);
    for (let k = 0; k < a.kept.length; k++) {
      const ka = a.kept[k];
      const kb = b.kept[k];
      if (ka === null || kb === null || a.keptCount[k]! + b.keptCount[k]! > spec.maxInMemory) {
        a.kept[k] = null;
        if (a.keptW) a.keptW[k] = null;
      } else {
        ka!.push(...kb!);
        if (a.keptW) a.keptW[k]!.push(...b.keptW![k]!);
        a.keptCount[k]! += b.keptCount[k]!;
      }
      a.inMin[k] = Math.min(a.inMin[k]!, b.inMin[k]!);
      a.inMax[k] = Math.max(a.inMax[k]!, b.inMax[k]!);
      if (a.hist[k]) for (let j = 0; j < a.hist[k]!.length; j++) a.hist[k]![j] = a.hist[k]![j]! + b.hist[k]![j]!;
    }
    return a;
  },
  finalize(spec, st) {
    const probs = spec.probs;
    const weighted = st.keptW !== undefined;
    // 0-based rank r (minus the weight below the kept interval) -> value
    const order = (k: number, N: number, below: number): ((r: number) => number) => {
      if (weighted) {
        const f = weightedOrder(st.kept[k]!, st.keptW![k]!);
        return (r) => f(Math.min(r + 1, N) - below);
      }
      const s = sortedConcat(st.kept[k]!);
      return (r) => s[r - below]!;
    };
    const reached = (rank: number, cum: number, N: number) => (weighted ? cum >= Math.min(rank + 1, N) : rank < cum);
    const extra = (rows: number | undefined, n: number) => (weighted ? { n: rows ?? 0, sumOfWeights: n } : { n });
    if (spec.pass === 'first') {
      const n = st.n;
      if (st.kept[0] !== null || n === 0) {
        const os = n === 0 ? () => Number.NaN : order(0, n, 0);
        return { done: true, result: { probs, values: type7(probs, n, os), ...extra(st.rows, n), missing: st.missing, passes: 1, exact: true } };
      }
      const targets = ranksFor(probs, n).map((rank): Target => ({ rank, lo: st.min, hi: st.max, hiIncl: true, below: 0 }));
      if (st.min === st.max) for (const t of targets) t.value = st.min;
      const next: QuantileSpec = { ...spec, pass: 'refine', targets, passes: spec.passes + 1, n, missing: st.missing };
      if (st.rows !== undefined) next.rows = st.rows;
      return { done: false, spec: next };
    }
    const n = spec.n!;
    const next: Target[] = spec.targets.map((t, k) => {
      if (t.value !== undefined) return t;
      if (st.kept[k] !== null) return { ...t, value: order(k, n, t.below)(t.rank) };
      if (st.inMin[k] === st.inMax[k]) return { ...t, value: st.inMin[k]! };
      const h = st.hist[k]!;
      const e = edges(t, spec.bins);
      let below = t.below;
      // weighted: a threshold at the very total may miss by rounding; it belongs to the last non-empty bin
      let lastJ = h.length - 1;
      if (weighted) while (lastJ > 0 && h[lastJ] === 0) lastJ--;
      for (let j = 0; j < h.length; j++) {
        if (reached(t.rank, below + h[j]!, n) || (weighted && j === lastJ)) {
          const last = j === h.length - 1;
          const nt: Target = { rank: t.rank, lo: e[j]!, hi: e[j + 1]!, hiIncl: last && t.hiIncl, below };
          // approximate mode: spread the bin's values evenly inside it
          if (spec.approx) nt.value = e[j]! + ((t.rank - below + 0.5) / h[j]!) * (e[j + 1]! - e[j]!);
          return nt;
        }
        below += h[j]!;
      }
      throw new RxError('RX_INTERNAL', `rxQuantile lost rank ${t.rank} while refining (data changed between passes?)`);
    });
    if (next.every((t) => t.value !== undefined)) {
      const byRank = new Map(next.map((t) => [t.rank, t.value!]));
      return {
        done: true,
        result: { probs, values: type7(probs, n, (r) => byRank.get(r)!), ...extra(spec.rows, n), missing: spec.missing ?? 0, passes: spec.passes + 1, exact: !spec.approx },
      };
    }
    return { done: false, spec: { ...spec, targets: next, passes: spec.passes + 1 } };
  },
};

export const quantileAccumulator: AccumulatorDef<QuantileSpec, QuantileState, QuantileResult> = registerAccumulator<QuantileSpec, QuantileState, QuantileResult>({
  name: 'rxQuantile',
  ...quantileImpl,
});

/** The same accumulator with a weight column (its own name: the in-database pushdown of rxQuantile is unweighted). */
export const weightedQuantileAccumulator: AccumulatorDef<QuantileSpec, QuantileState, QuantileResult> = registerAccumulator<QuantileSpec, QuantileState, QuantileResult>({
  name: 'rxQuantileWeighted',
  ...quantileImpl,
});

export interface RxQuantileOptions extends CommonOptions {
  probs?: number[];
  /** 'exact' (default): exact in any size; 'approx': one histogram pass, error <= (max - min) / bins. */
  method?: 'exact' | 'approx';
  /** Values kept in memory at most (default 5,000,000). */
  maxInMemory?: number;
  /** Histogram bins per refinement pass (default 65,536). */
  bins?: number;
  /** Frequency weights column: quantiles of the data with each row repeated w times. */
  fweights?: string;
  /** Probability weights column: the same weighted quantiles (real weights). */
  pweights?: string;
}

/** Names like R's quantile(): "0%", "25%", "99.9%". */
export function quantileNames(probs: number[]): string[] {
  return probs.map((p) => {
    const s = formatNumbers([100 * p], 7)[0]!;
    return `${s.includes('.') ? s.replace(/\.?0+$/, '') : s}%`;
  });
}

export class RxQuantileResult {
  readonly probs: number[];
  readonly values: number[];
  readonly names: string[];
  readonly n: number;
  readonly missing: number;
  readonly passes: number;
  readonly exact: boolean;
  /** With fweights / pweights: the sum of weights (n is then the number of rows used). */
  readonly sumOfWeights: number | undefined;
  constructor(r: QuantileResult) {
    this.probs = r.probs;
    this.values = r.values;
    this.names = quantileNames(r.probs);
    this.n = r.n;
    this.missing = r.missing;
    this.passes = r.passes;
    this.exact = r.exact;
    this.sumOfWeights = r.sumOfWeights;
  }
  /** name -> value, e.g. { '25%': 3.1 }. */
  toObject(): Record<string, number> {
    return Object.fromEntries(this.names.map((k, i) => [k, this.values[i]!]));
  }
  toString(): string {
    const v = formatNumbers(this.values);
    const w = this.names.map((nm, i) => Math.max(nm.length, v[i]!.length));
    return `${this.names.map((nm, i) => nm.padStart(w[i]!)).join(' ')}\n${v.map((x, i) => x.padStart(w[i]!)).join(' ')}`;
  }
}

export async function rxQuantile(varName: string, data: unknown, options: RxQuantileOptions = {}): Promise<RxQuantileResult> {
  expectString(varName, 'varName');
  const probs = options.probs ?? [0, 0.25, 0.5, 0.75, 1];
  if (!Array.isArray(probs) || probs.length === 0 || probs.some((p) => typeof p !== 'number' || !(p >= 0 && p <= 1))) throw argError('an array of probabilities in [0, 1]', 'probs', probs);
  const method = options.method === undefined ? 'exact' : expectOneOf(options.method, ['exact', 'approx'] as const, 'method');
  const maxInMemory = options.maxInMemory === undefined ? 5_000_000 : expectNumber(options.maxInMemory, 'maxInMemory', { min: 1, integer: true });
  const bins = options.bins === undefined ? 65_536 : expectNumber(options.bins, 'bins', { min: 2, integer: true });
  const source = sourceOf(data, options);
  const schema = await source.schema();
  const info = columnInfo(schema, varName, varName);
  if (!isNumericType(info.type)) throw new RxError('RX_FORMULA', `rxQuantile needs a numeric variable but "${varName}" is ${info.type}`, { column: varName, text: varName });
  if (options.fweights !== undefined && options.pweights !== undefined) throw new RxError('RX_ARG', 'Give fweights or pweights, not both');
  const wname = options.fweights ?? options.pweights;
  const spec: QuantileSpec = { varName, pass: 'first', maxInMemory: method === 'approx' ? 0 : maxInMemory, bins, approx: method === 'approx', targets: [], passes: 0, probs };
  if (wname === undefined) return new RxQuantileResult(await runAcc(quantileAccumulator, spec, source, options, true));
  expectString(wname, options.fweights !== undefined ? 'fweights' : 'pweights');
  const wi = columnInfo(schema, wname, wname);
  if (!isNumericType(wi.type)) throw new RxError('RX_FORMULA', `Weight variable "${wname}" must be numeric but is ${wi.type}`, { column: wname });
  spec.weights = wname;
  return new RxQuantileResult(await runAcc(weightedQuantileAccumulator, spec, source, options, true));
}
