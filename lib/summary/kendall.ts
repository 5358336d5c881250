/**
 * rxKendallCor: Kendall's tau-b correlation matrix with p-values (normal approximation with
 * tie corrections, as R's cor.test(method = "kendall", exact = FALSE)). Complete rows are
 * gathered by a chunked accumulator (at most `maxInMemory` rows: tau is not a mergeable
 * statistic), then each pair is computed in O(n log n) with Knight's algorithm
 * (sort by x then y, count discordant pairs as merge-sort inversions of y).
 */
import { registerAccumulator } from '../compute/pema.js';
import type { AccumulatorDef } from '../compute/pema.js';
import { RxError } from '../errors.js';
import { expectNumber, expectString } from '../validate.js';
import { columnInfo, isNumericType, numericOf } from './core.js';
import { pnorm } from './dist.js';
import { formatNumbers, layoutTable } from './format.js';
import { type CommonOptions, runAcc, sourceOf } from './run.js';
import { functionTermNames, parseSummaryFormula, resolveTerms } from './terms.js';

interface KendallSpec {
  vars: string[];
  maxInMemory: number;
}
interface KendallState {
  cols: Float64Array[][];
  n: number;
  missing: number;
}

export const kendallAccumulator: AccumulatorDef<KendallSpec, KendallState, KendallState> = registerAccumulator<KendallSpec, KendallState, KendallState>({
  name: 'rxKendallCor',
  columns: (spec) => spec.vars,
  init: (spec) => ({ cols: spec.vars.map(() => []), n: 0, missing: 0 }),
  process(spec, st, chunk) {
    const xs = spec.vars.map((v) => numericOf(chunk, v, v));
    const n = chunk.numRows;
    const keep: number[] = [];
    for (let i = 0; i < n; i++) if (xs.every((x) => !Number.isNaN(x[i]))) keep.push(i);
    st.missing += n - keep.length;
    st.n += keep.length;
    if (st.n > spec.maxInMemory) throw new RxError('RX_ARG', `rxKendallCor keeps the data in memory and is limited to maxInMemory = ${spec.maxInMemory} rows; use rowSelection to sample`);
    xs.forEach((x, j) => {
      st.cols[j]!.push(Float64Array.from(keep, (i) => x[i]!));
    });
    return st;
  },
  merge(_spec, a, b) {
    a.n += b.n;
    a.missing += b.missing;
    b.cols.forEach((c, j) => {
      a.cols[j]!.push(...c);
    });
    return a;
  },
  finalize: (_spec, st) => ({ done: true, result: st }),
});

interface TieSums {
  /** sum t(t-1), sum t(t-1)(2t+5), sum t(t-1)(t-2) over runs of equal values. */
  s1: number;
  s2: number;
  s3: number;
}

function tieSums(sorted: Float64Array): TieSums {
  const r: TieSums = { s1: 0, s2: 0, s3: 0 };
  let i = 0;
  while (i < sorted.length) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    const t = j - i;
    r.s1 += t * (t - 1);
    r.s2 += t * (t - 1) * (2 * t + 5);
    r.s3 += t * (t - 1) * (t - 2);
    i = j;
  }
  return r;
}

/** Inversions of a (sorted ascending in place), counting only strict a[i] > a[j], i < j. */
function sortCountInversions(a: Float64Array): number {
  const n = a.length;
  let buf: Float64Array = new Float64Array(n);
  let src: Float64Array = a;
  let swaps = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[j]! < src[i]!) {
          buf[k++] = src[j++]!;
          swaps += mid - i;
        } else buf[k++] = src[i++]!;
      }
      while (i < mid) buf[k++] = src[i++]!;
      while (j < hi) buf[k++] = src[j++]!;
    }
    const t = src;
    src = buf;
    buf = t;
  }
  if (src !== a) a.set(src);
  return swaps;
}

/** Kendall tau-b and its two-sided p-value (normal approximation, R's tie-corrected variance). */
export function kendallTau(x: Float64Array, y: Float64Array): { tau: number; pValue: number; n: number } {
  const n = x.length;
  if (n < 2) return { tau: Number.NaN, pValue: Number.NaN, n };
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || y[a]! - y[b]!);
  const xs = Float64Array.from(idx, (i) => x[i]!);
  const ys = Float64Array.from(idx, (i) => y[i]!);
  // joint ties: runs of equal (x, y)
  let n3 = 0;
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && xs[j] === xs[i] && ys[j] === ys[i]) j++;
    n3 += ((j - i) * (j - i - 1)) / 2;
    i = j;
  }
  const tx = tieSums(xs);
  const swaps = sortCountInversions(ys);
  const ty = tieSums(ys);
  const n0 = (n * (n - 1)) / 2;
  const n1 = tx.s1 / 2;
  const n2 = ty.s1 / 2;
  const S = n0 - n1 - n2 + n3 - 2 * swaps;
  const tau = S / Math.sqrt((n0 - n1) * (n0 - n2));
  const v0 = n * (n - 1) * (2 * n + 5);
  const varS = (v0 - tx.s2 - ty.s2) / 18 + (tx.s1 * ty.s1) / (2 * n * (n - 1)) + (n > 2 ? (tx.s3 * ty.s3) / (9 * n * (n - 1) * (n - 2)) : 0);
  const z = S / Math.sqrt(varS);
  const p = 2 * Math.min(pnorm(z), pnorm(-z));
  return { tau, pValue: Math.min(1, p), n };
}

export class RxKendallCorResult {
  readonly names: string[];
  readonly tau: number[][];
  readonly pValues: number[][];
  readonly validObs: number;
  readonly missingObs: number;
  constructor(init: Omit<RxKendallCorResult, 'toString'>) {
    this.names = init.names;
    this.tau = init.tau;
    this.pValues = init.pValues;
    this.validObs = init.validObs;
    this.missingObs = init.missingObs;
  }
  toString(): string {
    const cols = this.names.map((_, j) => formatNumbers(this.tau.map((r) => r[j]!)));
    const align = this.names.map(() => 'r' as const);
    return [
      `Kendall's tau-b (${this.validObs} complete observations, ${this.missingObs} with missing values)`,
      layoutTable(['', ...this.names], this.names.map((nm, i) => [nm, ...cols.map((c) => c[i]!)]), ['l', ...align], '', ['l', ...align]),
    ].join('\n');
  }
}

export async function rxKendallCor(formula: string, data: unknown, options: CommonOptions & { maxInMemory?: number } = {}): Promise<RxKendallCorResult> {
  expectString(formula, 'formula');
  const f = parseSummaryFormula(formula);
  const source = sourceOf(data, options, f);
  const schema = await source.schema();
  const vars: string[] = [];
  const skip = functionTermNames(f);
  const dotCols = schema.columns.filter((c) => isNumericType(c.type) && !skip.has(c.name)).map((c) => c.name);
  for (const t of resolveTerms(f, dotCols)) {
    const v = t.vars[0]!;
    if (t.vars.length !== 1 || v.asFactor) throw new RxError('RX_FORMULA', `rxKendallCor takes plain numeric variables; term "${t.label}" is not one`, { text: t.label });
    const info = columnInfo(schema, v.name, t.label);
    if (!isNumericType(info.type)) throw new RxError('RX_FORMULA', `rxKendallCor needs numeric variables but "${v.name}" is ${info.type}`, { column: v.name, text: t.label });
    vars.push(v.name);
  }
  if (vars.length < 2) throw new RxError('RX_FORMULA', `rxKendallCor needs at least two numeric variables in "${formula}"`, { text: formula });
  const maxInMemory = options.maxInMemory === undefined ? 5_000_000 : expectNumber(options.maxInMemory, 'maxInMemory', { min: 1, integer: true });
  const st = await runAcc(kendallAccumulator, { vars, maxInMemory }, source, options, true);
  const cols = st.cols.map((parts) => {
    const out = new Float64Array(st.n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  });
  const p = vars.length;
  const tau = vars.map(() => new Array<number>(p).fill(1));
  const pv = vars.map(() => new Array<number>(p).fill(0));
  for (let a = 0; a < p; a++) {
    for (let b = a + 1; b < p; b++) {
      const k = kendallTau(cols[a]!, cols[b]!);
      tau[a]![b] = tau[b]![a] = k.tau;
      pv[a]![b] = pv[b]![a] = k.pValue;
    }
  }
  return new RxKendallCorResult({ names: vars, tau, pValues: pv, validObs: st.n, missingObs: st.missing });
}
