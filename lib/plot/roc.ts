/**
 * rxRoc / rxAuc: ROC curve points (sensitivity, specificity at thresholds) and the area
 * under the curve for one or more score variables against a binary outcome.
 *
 * Exact mode (scores fit in `maxInMemory`): scores are kept per class and sorted; AUC is
 * the Mann-Whitney statistic P(s+ > s-) + P(s+ = s-)/2 (equal to R's Wilcoxon-based AUC).
 * Bounded mode (more scores): a second pass builds per-class histograms of `bins`
 * left-closed bins over [min, max]; ROC points at bin edges are exact, and the AUC treats
 * scores in one bin as tied, so |AUC - exact| <= sum_b pos_b neg_b / (2 P N), which is
 * returned as `aucErrorBound` (0 in exact mode).
 *
 * The outcome is positive where it is non-zero / TRUE, or equal to the second level of a
 * two-level factor (R's convention for binomial models).
 */
import { registerAccumulator } from '../compute/pema.js';
import type { AccumulatorDef } from '../compute/pema.js';
import type { Chunk } from '../data/types.js';
import { RxError } from '../errors.js';
import { expectNumber, expectString, expectStringArray } from '../validate.js';
import { columnInfo, isNumericType, numericOf } from '../summary/core.js';
import { type CommonOptions, runAcc, sourceOf } from '../summary/run.js';
import { type PlotOutputOptions, type PlotResult, baseSpec, renderVegaLite } from './render.js';

export interface RocSpec {
  actual: string;
  /** Index of the positive level when `actual` is a factor. */
  positiveLevel?: string;
  preds: string[];
  pass: 'collect' | 'hist';
  maxInMemory: number;
  bins: number;
  lo: number[];
  hi: number[];
}

interface RocState {
  min: number[];
  max: number[];
  /** Per predictor: kept scores of positives / negatives (null when over the cap). */
  pos: (Float64Array[] | null)[];
  neg: (Float64Array[] | null)[];
  kept: number;
  hpos: Float64Array[];
  hneg: Float64Array[];
  missing: number;
}

function outcome(chunk: Chunk, spec: RocSpec): Int8Array {
  const col = chunk.columns[spec.actual]!;
  const n = chunk.numRows;
  const out = new Int8Array(n).fill(-1);
  if (col.type === 'factor') {
    const codes = col.data as Int32Array;
    const k = (col.levels ?? []).indexOf(spec.positiveLevel!);
    for (let i = 0; i < n; i++) if (!col.valid || col.valid[i]) out[i] = codes[i] === k ? 1 : 0;
    return out;
  }
  const y = numericOf(chunk, spec.actual, spec.actual);
  for (let i = 0; i < n; i++) if (!Number.isNaN(y[i])) out[i] = y[i] !== 0 ? 1 : 0;
  return out;
}

export const rocAccumulator: AccumulatorDef<RocSpec, RocState, RocState> = registerAccumulator<RocSpec, RocState, RocState>({
  name: 'rxRoc',
  columns(spec) {
    return [spec.actual, ...spec.preds];
  },
  init(spec) {
    const k = spec.preds.length;
    return {
      min: new Array(k).fill(Infinity),
      max: new Array(k).fill(-Infinity),
      pos: spec.preds.map(() => (spec.pass === 'collect' ? [] : null)),
      neg: spec.preds.map(() => (spec.pass === 'collect' ? [] : null)),
      kept: 0,
      hpos: spec.pass === 'hist' ? spec.preds.map(() => new Float64Array(spec.bins)) : [],
      hneg: spec.pass === 'hist' ? spec.preds.map(() => new Float64Array(spec.bins)) : [],
      missing: 0,
    };
  },
  process(spec, st, chunk) {
    const y = outcome(chunk, spec);
    const n = chunk.numRows;
    const xs = spec.preds.map((p) => numericOf(chunk, p, p));
    const ok = new Uint8Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      let good = y[i]! >= 0;
      for (const x of xs) if (Number.isNaN(x[i])) good = false;
      if (good) {
        ok[i] = 1;
        m++;
      } else st.missing++;
    }
    const over = spec.pass === 'collect' && st.kept + m > spec.maxInMemory;
    xs.forEach((x, k) => {
      if (spec.pass === 'collect') {
        let mn = st.min[k]!;
        let mx = st.max[k]!;
        for (let i = 0; i < n; i++) {
          if (!ok[i]) continue;
          const v = x[i]!;
          if (v < mn) mn = v;
          if (v > mx) mx = v;
        }
        st.min[k] = mn;
        st.max[k] = mx;
        if (over) {
          st.pos[k] = null;
          st.neg[k] = null;
        } else if (st.pos[k]) {
          const p: number[] = [];
          const q: number[] = [];
          for (let i = 0; i < n; i++) if (ok[i]) (y[i] ? p : q).push(x[i]!);
          st.pos[k]!.push(Float64Array.from(p));
          st.neg[k]!.push(Float64Array.from(q));
        }
        return;
      }
      const lo = spec.lo[k]!;
      const hi = spec.hi[k]!;
      const B = spec.bins;
      const scale = hi > lo ? B / (hi - lo) : 0;
      const hp = st.hpos[k]!;
      const hn = st.hneg[k]!;
      for (let i = 0; i < n; i++) {
        if (!ok[i]) continue;
        const b = Math.min(B - 1, Math.max(0, Math.floor((x[i]! - lo) * scale)));
        if (y[i]) hp[b] = hp[b]! + 1;
        else hn[b] = hn[b]! + 1;
      }
    });
    if (spec.pass === 'collect') st.kept += over ? 0 : m;
    return st;
  },
  merge(spec, a, b) {
    a.missing += b.missing;
    const over = a.kept + b.kept > spec.maxInMemory;
    a.kept += b.kept;
    for (let k = 0; k < spec.preds.length; k++) {
      a.min[k] = Math.min(a.min[k]!, b.min[k]!);
      a.max[k] = Math.max(a.max[k]!, b.max[k]!);
      if (a.pos[k] === null || b.pos[k] === null || over) {
        a.pos[k] = null;
        a.neg[k] = null;
      } else {
        a.pos[k]!.push(...b.pos[k]!);
        a.neg[k]!.push(...b.neg[k]!);
      }
      if (a.hpos[k]) {
        for (let j = 0; j < spec.bins; j++) {
          a.hpos[k]![j] = a.hpos[k]![j]! + b.hpos[k]![j]!;
          a.hneg[k]![j] = a.hneg[k]![j]! + b.hneg[k]![j]!;
        }
      }
    }
    return a;
  },
  finalize(spec, st) {
    if (spec.pass === 'collect' && st.pos.some((p) => p === null)) {
      return { done: false, spec: { ...spec, pass: 'hist', lo: st.min, hi: st.max } };
    }
    if (spec.pass === 'hist') {
      st.min = [...spec.lo];
      st.max = [...spec.hi];
    }
    return { done: true, result: st };
  },
});

function cat(parts: Float64Array[]): Float64Array {
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

/** Number of values >= t in a sorted array. */
function countGe(s: Float64Array, t: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return s.length - lo;
}

export interface RocPoint {
  predVarName: string;
  threshold: number;
  sensitivity: number;
  specificity: number;
}

export class RxRocResult {
  readonly points: RocPoint[];
  readonly predVarNames: string[];
  readonly actualVarName: string;
  readonly auc: number[];
  readonly aucErrorBound: number[];
  readonly positives: number;
  readonly negatives: number;
  readonly missing: number;
  constructor(init: Omit<RxRocResult, 'plot' | 'toString'>) {
    this.points = init.points;
    this.predVarNames = init.predVarNames;
    this.actualVarName = init.actualVarName;
    this.auc = init.auc;
    this.aucErrorBound = init.aucErrorBound;
    this.positives = init.positives;
    this.negatives = init.negatives;
    this.missing = init.missing;
  }
  toString(): string {
    const lines = [`ROC for ${this.actualVarName} (${this.positives} positive, ${this.negatives} negative, ${this.missing} missing)`];
    this.predVarNames.forEach((p, k) => {
      lines.push(`  ${p}: AUC = ${this.auc[k]!.toFixed(6)}${this.aucErrorBound[k]! > 0 ? ` (+/- ${this.aucErrorBound[k]!.toExponential(2)})` : ''}`);
    });
    return lines.join('\n');
  }
  /** ROC curves (sensitivity against 1 - specificity) with the AUC in the legend. */
  plot(opts: PlotOutputOptions = {}): Promise<PlotResult> {
    const label = (p: string) => `${p} (AUC = ${this.auc[this.predVarNames.indexOf(p)]!.toFixed(3)})`;
    const values = this.points.map((pt) => ({ series: label(pt.predVarName), fpr: 1 - pt.specificity, tpr: pt.sensitivity, threshold: pt.threshold }));
    for (const p of this.predVarNames) values.push({ series: label(p), fpr: 0, tpr: 0, threshold: Infinity }, { series: label(p), fpr: 1, tpr: 1, threshold: -Infinity });
    const spec = {
      ...baseSpec(opts.title ?? `ROC curve for ${this.actualVarName}`, opts.width ?? 360, opts.height ?? 360),
      layer: [
        {
          data: { values: [{ a: 0, b: 0 }, { a: 1, b: 1 }] },
          mark: { type: 'line', strokeDash: [4, 4], color: '#999' },
          encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } },
        },
        {
          data: { values },
          mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
          encoding: {
            x: { field: 'fpr', type: 'quantitative', title: '1 - Specificity (false positive rate)', scale: { domain: [0, 1] } },
            y: { field: 'tpr', type: 'quantitative', title: 'Sensitivity (true positive rate)', scale: { domain: [0, 1] } },
            color: { field: 'series', type: 'nominal', title: 'Score', legend: { orient: 'bottom-right', labelLimit: 300 } },
            order: { field: 'fpr', type: 'quantitative' },
          },
        },
      ],
    };
    return renderVegaLite(spec, opts);
  }
}

export interface RxRocOptions extends CommonOptions {
  /** Number of threshold intervals (default 100): thresholds are an even grid over [0, 1] (or the score range). */
  numBreaks?: number;
  maxInMemory?: number;
  bins?: number;
}

export async function rxRoc(actualVarName: string, predVarNames: string | string[], data: unknown, options: RxRocOptions = {}): Promise<RxRocResult> {
  expectString(actualVarName, 'actualVarName');
  const preds = typeof predVarNames === 'string' ? [predVarNames] : expectStringArray(predVarNames, 'predVarNames');
  if (preds.length === 0) throw new RxError('RX_ARG', 'rxRoc needs at least one prediction variable');
  const numBreaks = options.numBreaks === undefined ? 100 : expectNumber(options.numBreaks, 'numBreaks', { min: 1, max: 1e6, integer: true });
  const source = sourceOf(data, options);
  const schema = await source.schema();
  const ai = columnInfo(schema, actualVarName, actualVarName);
  const spec: RocSpec = {
    actual: actualVarName,
    preds,
    pass: 'collect',
    maxInMemory: options.maxInMemory === undefined ? 5_000_000 : expectNumber(options.maxInMemory, 'maxInMemory', { min: 0, integer: true }),
    bins: options.bins === undefined ? 65_536 : expectNumber(options.bins, 'bins', { min: 2, integer: true }),
    lo: [],
    hi: [],
  };
  if (ai.type === 'factor') {
    if (ai.levels?.length !== 2) throw new RxError('RX_FORMULA', `Outcome "${actualVarName}" must be 0/1, logical or a two-level factor (it has ${ai.levels?.length ?? 0} levels)`, { column: actualVarName });
    spec.positiveLevel = ai.levels[1]!;
  } else if (!isNumericType(ai.type)) throw new RxError('RX_FORMULA', `Outcome "${actualVarName}" must be 0/1, logical or a two-level factor, not ${ai.type}`, { column: actualVarName });
  for (const p of preds) {
    const pi = columnInfo(schema, p, p);
    if (!isNumericType(pi.type)) throw new RxError('RX_FORMULA', `Score variable "${p}" must be numeric but is ${pi.type}`, { column: p, text: p });
  }
  const st = await runAcc(rocAccumulator, spec, source, options);
  const points: RocPoint[] = [];
  const auc: number[] = [];
  const bound: number[] = [];
  let P = 0;
  let N = 0;
  preds.forEach((p, k) => {
    const lo = st.min[k]!;
    const hi = st.max[k]!;
    const unit = lo >= 0 && hi <= 1;
    const g0 = unit ? 0 : lo;
    const g1 = unit ? 1 : hi;
    const grid = Array.from({ length: numBreaks + 1 }, (_, j) => g0 + ((g1 - g0) * j) / numBreaks);
    if (st.pos[k]) {
      const sp = cat(st.pos[k]!);
      const sn = cat(st.neg[k]!);
      P = sp.length;
      N = sn.length;
      // Mann-Whitney: walk both sorted arrays
      let j = 0;
      let u = 0;
      for (let i = 0; i < sp.length; i++) {
        const v = sp[i]!;
        while (j < sn.length && sn[j]! < v) j++;
        let t = j;
        while (t < sn.length && sn[t] === v) t++;
        u += j + 0.5 * (t - j);
      }
      auc.push(P && N ? u / (P * N) : Number.NaN);
      bound.push(0);
      for (const t of grid) points.push({ predVarName: p, threshold: t, sensitivity: P ? countGe(sp, t) / P : Number.NaN, specificity: N ? 1 - countGe(sn, t) / N : Number.NaN });
      return;
    }
    const hp = st.hpos[k]!;
    const hn = st.hneg[k]!;
    P = hp.reduce((s, x) => s + x, 0);
    N = hn.reduce((s, x) => s + x, 0);
    let negBelow = 0;
    let u = 0;
    let ties = 0;
    for (let b = 0; b < hp.length; b++) {
      u += hp[b]! * (negBelow + 0.5 * hn[b]!);
      ties += hp[b]! * hn[b]!;
      negBelow += hn[b]!;
    }
    auc.push(P && N ? u / (P * N) : Number.NaN);
    bound.push(P && N ? ties / (2 * P * N) : 0);
    // ROC at bin edges nearest to the grid thresholds (exact there)
    const B = hp.length;
    const sufP = new Float64Array(B + 1);
    const sufN = new Float64Array(B + 1);
    for (let b = B - 1; b >= 0; b--) {
      sufP[b] = sufP[b + 1]! + hp[b]!;
      sufN[b] = sufN[b + 1]! + hn[b]!;
    }
    for (const t of grid) {
      const e = hi > lo ? Math.min(B, Math.max(0, Math.round(((t - lo) / (hi - lo)) * B))) : t <= lo ? 0 : B;
      const edge = lo + ((hi - lo) * e) / B;
      points.push({ predVarName: p, threshold: edge, sensitivity: P ? sufP[e]! / P : Number.NaN, specificity: N ? 1 - sufN[e]! / N : Number.NaN });
    }
  });
  if (!(P > 0 && N > 0)) throw new RxError('RX_ARG', `rxRoc needs both positive and negative outcomes in "${actualVarName}" (found ${P} positive, ${N} negative)`, { column: actualVarName });
  return new RxRocResult({ points, predVarNames: preds, actualVarName, auc, aucErrorBound: bound, positives: P, negatives: N, missing: st.missing });
}

/** Area under the ROC curve for each score variable of an rxRoc result. */
export function rxAuc(roc: RxRocResult): Record<string, number> {
  if (!(roc instanceof RxRocResult)) throw new RxError('RX_ARG', 'rxAuc expects the result of rxRoc');
  return Object.fromEntries(roc.predVarNames.map((p, k) => [p, roc.auc[k]!]));
}
