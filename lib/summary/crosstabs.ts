/**
 * rxCube and rxCrossTabs: counts, sums and means of dependent variables over the cells
 * of an interaction of factors (one chunked pass; a range pass first when F(x) has no
 * known low/high), plus the tests that go with contingency tables: rxChiSquaredTest
 * (Pearson, optional Yates correction for 2x2), Cramer's V, rxFisherTest (2x2 exact).
 */
import { registerAccumulator } from '../compute/pema.js';
import type { AccumulatorDef } from '../compute/pema.js';
import { RxError } from '../errors.js';
import { argError, expectString } from '../validate.js';
import {
  type FactorTrack,
  type Moments,
  accumulateMoments,
  cellIndex,
  codesOf,
  columnInfo,
  gridSize,
  isFactorType,
  isNumericType,
  levelMap,
  meanOf,
  mergeMoments,
  newMoments,
  newTrack,
  numericOf,
  remapCells,
  remapMoments,
  weightsOf,
} from './core.js';
import { crosstab2 } from '../native/summary.js';
import { lchoose, pchisqUpper } from './dist.js';
import { type Align, formatNumbers, layoutTable } from './format.js';
import { type CommonOptions, dataLabel, runAcc, sourceOf } from './run.js';
import { type SVar, parseSummaryFormula } from './terms.js';
import { gridLevels } from './summary.js';

export interface CubeSpec {
  deps: string[];
  factors: SVar[];
  weights?: string;
  pass: 'range' | 'main';
  rangeVars: string[];
  ranges: Record<string, { low: number; high: number }>;
}

interface CubeState {
  rows: number;
  missing: number;
  tracks: FactorTrack[];
  dims: number[];
  /** Weighted counts per cell (rows with every variable present). */
  counts: Float64Array;
  deps: Moments[];
  lo?: Float64Array;
  hi?: Float64Array;
}

function sync(st: CubeState): void {
  const nd = st.tracks.map((t) => t.levels.length);
  if (nd.every((d, i) => d === st.dims[i])) return;
  const maps = nd.map(() => null);
  st.counts = remapCells(st.counts, st.dims, nd, maps, 0);
  st.deps = st.deps.map((m) => remapMoments(m, st.dims, nd, maps));
  st.dims = nd;
}

/** Chunks of at least this many rows count two-way tables in the native kernel. */
const NATIVE_MIN_ROWS = 8192;

export const cubeAccumulator: AccumulatorDef<CubeSpec, CubeState, CubeState> = registerAccumulator<CubeSpec, CubeState, CubeState>({
  name: 'rxCube',
  columns(spec) {
    return [...new Set([...spec.deps, ...spec.factors.map((f) => f.name), ...(spec.weights ? [spec.weights] : [])])];
  },
  init(spec, schema) {
    if (spec.pass === 'range') {
      const k = spec.rangeVars.length;
      return { rows: 0, missing: 0, tracks: [], dims: [], counts: new Float64Array(0), deps: [], lo: new Float64Array(k).fill(Infinity), hi: new Float64Array(k).fill(-Infinity) };
    }
    const tracks = spec.factors.map((f) => newTrack(f, columnInfo(schema, f.name, f.label), spec.ranges[f.name]));
    const dims = tracks.map((t) => t.levels.length);
    const cells = gridSize(dims);
    return { rows: 0, missing: 0, tracks, dims, counts: new Float64Array(cells), deps: spec.deps.map(() => newMoments(cells)) };
  },
  process(spec, st, chunk) {
    const n = chunk.numRows;
    st.rows += n;
    if (spec.pass === 'range') {
      spec.rangeVars.forEach((v, k) => {
        const x = numericOf(chunk, v, `F(${v})`);
        for (let i = 0; i < n; i++) {
          const t = x[i]!;
          if (t < st.lo![k]!) st.lo![k] = t;
          if (t > st.hi![k]!) st.hi![k] = t;
        }
      });
      return st;
    }
    const codes = st.tracks.map((t, f) => codesOf(chunk, t, spec.factors[f]!.label));
    sync(st);
    if (codes.length === 2 && spec.deps.length === 0 && !spec.weights) {
      // common case (two-way table of counts): no cell-index array; large chunks in the
      // native kernel (multi-threaded, ~1 ns a row), small ones here
      const a = codes[0]!;
      const b = codes[1]!;
      const d0 = st.dims[0]!;
      const counts = st.counts;
      if (n >= NATIVE_MIN_ROWS) {
        st.missing += crosstab2(a.subarray(0, n), b.subarray(0, n), d0, st.dims[1]!, counts);
        return st;
      }
      let missing = 0;
      for (let i = 0; i < n; i++) {
        const x = a[i]!;
        const y = b[i]!;
        if (x < 0 || y < 0) missing++;
        else {
          const c = x + d0 * y;
          counts[c] = counts[c]! + 1;
        }
      }
      st.missing += missing;
      return st;
    }
    let cell = cellIndex(codes, st.dims, n);
    let owned = codes.length !== 1; // with one factor `cell` is the codes array: copy before writing
    const xs = spec.deps.map((d) => numericOf(chunk, d, d));
    const w = weightsOf(chunk, spec.weights);
    const counts = st.counts;
    let missing = 0;
    if (!w && xs.length === 0) {
      for (let i = 0; i < n; i++) {
        const c = cell[i]!;
        if (c < 0) missing++;
        else counts[c] = counts[c]! + 1;
      }
    } else {
      for (let i = 0; i < n; i++) {
        let ok = cell[i]! >= 0 && (!w || w[i]! >= 0);
        for (let j = 0; ok && j < xs.length; j++) if (Number.isNaN(xs[j]![i])) ok = false;
        if (!ok) {
          if (cell[i]! >= 0) {
            if (!owned) {
              cell = cell.slice();
              owned = true;
            }
            cell[i] = -1;
          }
          missing++;
          continue;
        }
        const c = cell[i]!;
        counts[c] = counts[c]! + (w ? w[i]! : 1);
      }
    }
    st.missing += missing;
    for (let j = 0; j < xs.length; j++) accumulateMoments(st.deps[j]!, xs[j]!, w, cell, null);
    return st;
  },
  merge(spec, a, b) {
    a.rows += b.rows;
    a.missing += b.missing;
    if (spec.pass === 'range') {
      for (let k = 0; k < a.lo!.length; k++) {
        a.lo![k] = Math.min(a.lo![k]!, b.lo![k]!);
        a.hi![k] = Math.max(a.hi![k]!, b.hi![k]!);
      }
      return a;
    }
    const maps = b.tracks.map((t, f) => levelMap(t.levels, a.tracks[f]!.levels));
    sync(a);
    const c = remapCells(b.counts, b.dims, a.dims, maps, 0);
    for (let i = 0; i < c.length; i++) a.counts[i] = a.counts[i]! + c[i]!;
    for (let j = 0; j < a.deps.length; j++) mergeMoments(a.deps[j]!, remapMoments(b.deps[j]!, b.dims, a.dims, maps));
    return a;
  },
  finalize(spec, st) {
    if (spec.pass === 'range') {
      const ranges = { ...spec.ranges };
      spec.rangeVars.forEach((v, k) => {
        ranges[v] = Number.isFinite(st.lo![k]!) ? { low: Math.trunc(st.lo![k]!), high: Math.trunc(st.hi![k]!) } : { low: 0, high: -1 };
      });
      return { done: false, spec: { ...spec, pass: 'main', ranges } };
    }
    if (st.tracks.some((t) => t.kind === 'string')) {
      const maps = st.tracks.map((t) => {
        if (t.kind !== 'string') return null;
        const sorted = [...t.levels].sort();
        const m = levelMap(t.levels, sorted);
        t.levels = sorted;
        return m;
      });
      st.counts = remapCells(st.counts, st.dims, st.dims, maps, 0);
      st.deps = st.deps.map((m) => remapMoments(m, st.dims, st.dims, maps));
    }
    return { done: true, result: st };
  },
});

export interface CubeOptions extends CommonOptions {
  fweights?: string;
  pweights?: string;
  dataName?: string;
}

async function runCube(fn: string, formula: string, data: unknown, options: CubeOptions) {
  expectString(formula, 'formula');
  const f = parseSummaryFormula(formula);
  if (f.hasDot || f.terms.length !== 1) {
    throw new RxError('RX_FORMULA', `${fn} needs one interaction term on the right (e.g. "y ~ A:B"), got "${formula}"`, { text: formula });
  }
  const source = sourceOf(data, options, f);
  const schema = await source.schema();
  const term = f.terms[0]!;
  const rangeVars: string[] = [];
  for (const v of term.vars) {
    const info = columnInfo(schema, v.name, term.label);
    if (v.asFactor) {
      if (!isNumericType(info.type)) throw new RxError('RX_FORMULA', `F(${v.name}) needs a numeric variable but "${v.name}" is ${info.type}`, { column: v.name, text: v.label });
      if ((v.low === undefined || v.high === undefined) && (info.low === undefined || info.high === undefined)) rangeVars.push(v.name);
    } else if (!isFactorType(info.type)) {
      throw new RxError('RX_FORMULA', `Variable "${v.name}" in "${term.label}" is ${info.type}; ${fn} needs factors on the right (use F(${v.name}) for a numeric)`, {
        column: v.name,
        text: term.label,
      });
    }
  }
  for (const y of f.lhs) {
    const info = columnInfo(schema, y.name, y.label);
    if (!isNumericType(info.type)) throw new RxError('RX_FORMULA', `Dependent variable "${y.name}" must be numeric but is ${info.type}`, { column: y.name, text: y.label });
  }
  if (options.fweights !== undefined && options.pweights !== undefined) throw new RxError('RX_ARG', 'Give fweights or pweights, not both');
  const wname = options.fweights ?? options.pweights;
  if (wname !== undefined) {
    const wi = columnInfo(schema, wname, wname);
    if (!isNumericType(wi.type)) throw new RxError('RX_FORMULA', `Weight variable "${wname}" must be numeric but is ${wi.type}`, { column: wname });
  }
  const spec: CubeSpec = { deps: f.lhs.map((y) => y.name), factors: term.vars, pass: rangeVars.length ? 'range' : 'main', rangeVars, ranges: {} };
  if (wname) spec.weights = wname;
  const st = await runAcc(cubeAccumulator, spec, source, options, true);
  return { f, st, dataName: options.dataName ?? dataLabel(source) };
}

// ---------------------------------------------------------------------------------------
// rxCube

export interface RxCubeOptions extends CubeOptions {
  /** true (default): cells hold means of the dependent variables; false: sums. */
  means?: boolean;
  /** Return a plain object of columns instead of an RxCubeResult. */
  returnDataFrame?: boolean;
  removeZeroCounts?: boolean;
}

export class RxCubeResult {
  /** Column name -> values (factor columns as level strings). */
  readonly columns: Record<string, (string | number)[]>;
  readonly names: string[];
  readonly formula: string;
  readonly dependents: string[];
  readonly validObs: number;
  readonly missingObs: number;
  readonly means: boolean;
  readonly dataName: string;
  constructor(init: { columns: Record<string, (string | number)[]>; names: string[]; formula: string; dependents: string[]; validObs: number; missingObs: number; means: boolean; dataName: string }) {
    this.columns = init.columns;
    this.names = init.names;
    this.formula = init.formula;
    this.dependents = init.dependents;
    this.validObs = init.validObs;
    this.missingObs = init.missingObs;
    this.means = init.means;
    this.dataName = init.dataName;
  }
  get numRows(): number {
    return this.columns.Counts!.length;
  }
  toString(): string {
    const out = ['Call:', `rxCube(formula = ${this.formula}, data = ${this.dataName})`, '', `Cube Results for: ${this.formula}`, `Data: ${this.dataName}`];
    if (this.dependents.length) out.push(`Dependent variable(s): ${this.dependents.join(', ')}`);
    out.push(`Number of valid observations: ${this.validObs}`, `Number of missing observations: ${this.missingObs} `);
    if (this.dependents.length) out.push(`Statistic: ${this.dependents.join(', ')} ${this.means ? 'means' : 'sums'} `);
    out.push('');
    const cols = this.names.map((n) => {
      const v = this.columns[n]!;
      return typeof v[0] === 'number' ? formatNumbers(v as number[]) : (v as string[]);
    });
    const rows = Array.from({ length: this.numRows }, (_, i) => [String(i + 1), ...cols.map((c) => c[i]!)]);
    out.push(layoutTable(['', ...this.names], rows, ['l', ...this.names.map((): Align => 'r')], '', ['l', ...this.names.map((): Align => 'r')]));
    return out.join('\n');
  }
}

export async function rxCube(formula: string, data: unknown, options: RxCubeOptions = {}): Promise<RxCubeResult | Record<string, (string | number)[]>> {
  const { f, st, dataName } = await runCube('rxCube', formula, data, options);
  const means = options.means ?? true;
  const lv = gridLevels(st.tracks, st.dims);
  const keep = [...st.counts.keys()].filter((i) => !options.removeZeroCounts || st.counts[i]! > 0);
  const columns: Record<string, (string | number)[]> = {};
  const names: string[] = [];
  st.tracks.forEach((t, k) => {
    columns[t.outName] = keep.map((i) => lv[k]![i]!);
    names.push(t.outName);
  });
  f.lhs.forEach((y, j) => {
    const m = st.deps[j]!;
    columns[y.name] = keep.map((i) => (m.n[i]! > 0 ? (means ? meanOf(m, i) : meanOf(m, i) * m.w[i]!) : means ? Number.NaN : 0));
    names.push(y.name);
  });
  columns.Counts = keep.map((i) => st.counts[i]!);
  names.push('Counts');
  if (options.returnDataFrame) return columns;
  const valid = st.rows - st.missing;
  return new RxCubeResult({ columns, names, formula: f.text, dependents: f.lhs.map((y) => y.name), validObs: valid, missingObs: st.missing, means, dataName });
}

// ---------------------------------------------------------------------------------------
// Contingency tests

export interface ChiSquaredResult {
  statistic: number;
  df: number;
  pValue: number;
  cramersV: number;
  /** Expected counts under independence (without the zero-margin rows/cols when dropZeroMargins). */
  expected: number[][];
}

export interface ChiSquaredOptions {
  /** Yates' continuity correction for 2x2 tables (as R's chisq.test(correct = TRUE)); default false. */
  correct?: boolean;
  /**
   * false (default, as R's chisq.test): a row or column whose total is zero gives expected
   * counts of 0 and a NaN statistic and p-value (df from the full table). true: such rows and
   * columns carry no information and are left out first (what rxCrossTabs' own test does, so
   * empty levels of F(x) ranges do not void it).
   */
  dropZeroMargins?: boolean;
}

function asMatrix(table: unknown, what: string): number[][] {
  if (!Array.isArray(table) || table.length === 0 || !table.every((r) => Array.isArray(r) && r.length === table[0].length && r.every((x: unknown) => typeof x === 'number' && x >= 0))) {
    throw argError('a non-empty rectangular matrix of non-negative counts', what, table);
  }
  return table as number[][];
}

/**
 * Pearson's chi-square test of independence for an r x c table of counts, as R's chisq.test
 * (zero margins: see ChiSquaredOptions.dropZeroMargins). `correct` applies Yates' continuity
 * correction to 2x2 tables, as R does.
 */
export function chiSquaredTest(table: number[][], opts: ChiSquaredOptions = {}): ChiSquaredResult {
  let t = asMatrix(table, 'table');
  if (opts.dropZeroMargins) {
    const rs = t.map((r) => r.reduce((s, x) => s + x, 0));
    t = t.filter((_, i) => rs[i]! > 0);
    const cs0 = t[0] ? t[0].map((_, j) => t.reduce((s, r) => s + r[j]!, 0)) : [];
    t = t.map((r) => r.filter((_, j) => cs0[j]! > 0));
  }
  const R = t.length;
  const C = R ? t[0]!.length : 0;
  if (R < 2 || C < 2) return { statistic: Number.NaN, df: Math.max(0, (R - 1) * (C - 1)), pValue: Number.NaN, cramersV: Number.NaN, expected: [] };
  const rows = t.map((r) => r.reduce((s, x) => s + x, 0));
  const cols = t[0]!.map((_, j) => t.reduce((s, r) => s + r[j]!, 0));
  const N = rows.reduce((s, x) => s + x, 0);
  const yates = (opts.correct ?? false) && R === 2 && C === 2;
  let stat = 0;
  const expected = t.map((r, i) =>
    r.map((o, j) => {
      const e = (rows[i]! * cols[j]!) / N;
      let d = Math.abs(o - e);
      if (yates) d = Math.max(0, d - Math.min(0.5, d));
      stat += (d * d) / e;
      return e;
    }),
  );
  const df = (R - 1) * (C - 1);
  return { statistic: stat, df, pValue: Number.isNaN(stat) ? Number.NaN : pchisqUpper(stat, df), cramersV: Math.sqrt(stat / (N * (Math.min(R, C) - 1))), expected };
}

export interface FisherResult {
  pValue: number;
  /** Conditional maximum likelihood estimate of the odds ratio (as R's fisher.test). */
  oddsRatio: number;
  alternative: 'two.sided' | 'less' | 'greater';
}

/** Fisher's exact test for a 2x2 table (R's fisher.test algorithm, relErr 1 + 1e-7). */
export function fisherTest(table: number[][], opts: { alternative?: 'two.sided' | 'less' | 'greater' } = {}): FisherResult {
  const t = asMatrix(table, 'table');
  if (t.length !== 2 || t[0]!.length !== 2) throw new RxError('RX_ARG', `rxFisherTest needs a 2x2 table but received ${t.length}x${t[0]!.length}`);
  if (!t.flat().every((x) => Number.isInteger(x))) throw new RxError('RX_ARG', 'rxFisherTest needs integer counts');
  const alternative = opts.alternative ?? 'two.sided';
  const x = t[0]![0]!;
  const m = t[0]![0]! + t[1]![0]!; // first column total
  const n = t[0]![1]! + t[1]![1]!;
  const k = t[0]![0]! + t[0]![1]!; // first row total
  const lo = Math.max(0, k - n);
  const hi = Math.min(k, m);
  const support: number[] = [];
  for (let s = lo; s <= hi; s++) support.push(s);
  const logdc = support.map((s) => lchoose(m, s) + lchoose(n, k - s));
  const dnhyper = (ncp: number) => {
    const d = logdc.map((l, i) => l + Math.log(ncp) * support[i]!);
    const mx = d.reduce((a, v) => Math.max(a, v), Number.NEGATIVE_INFINITY); // no spread: the support can be long
    const e = d.map((v) => Math.exp(v - mx));
    const tot = e.reduce((s, v) => s + v, 0);
    return e.map((v) => v / tot);
  };
  const mnhyper = (ncp: number) => {
    if (ncp === 0) return lo;
    if (ncp === Infinity) return hi;
    const d = dnhyper(ncp);
    return support.reduce((s, v, i) => s + v * d[i]!, 0);
  };
  const pnhyper = (q: number, ncp: number, upper: boolean) => {
    const d = dnhyper(ncp);
    let s = 0;
    support.forEach((v, i) => {
      if (upper ? v >= q : v <= q) s += d[i]!;
    });
    return s;
  };
  let p: number;
  if (alternative === 'less') p = pnhyper(x, 1, false);
  else if (alternative === 'greater') p = pnhyper(x, 1, true);
  else {
    const d = dnhyper(1);
    const dx = d[x - lo]!;
    p = d.reduce((s, v) => (v <= dx * (1 + 1e-7) ? s + v : s), 0);
  }
  // conditional MLE of the odds ratio: solve mnhyper(or) = x (bisection on log scale)
  let or: number;
  if (x === lo) or = 0;
  else if (x === hi) or = Infinity;
  else {
    let a = -50;
    let b = 50;
    for (let it = 0; it < 200; it++) {
      const mid = (a + b) / 2;
      if (mnhyper(Math.exp(mid)) < x) a = mid;
      else b = mid;
    }
    or = Math.exp((a + b) / 2);
  }
  return { pValue: Math.min(1, Math.max(0, p)), oddsRatio: or, alternative };
}

// ---------------------------------------------------------------------------------------
// rxCrossTabs

export interface CrossTable {
  /** Dependent variable (undefined for counts). */
  dependent: string | undefined;
  statistic: 'counts' | 'sums' | 'means';
  rowFactor: string;
  colFactor: string | undefined;
  rowLevels: string[];
  colLevels: string[];
  /** Levels of the remaining factors fixing this slice, e.g. { Dept: 'A' }. */
  slice: Record<string, string>;
  values: number[][];
  /** Counts behind the cells (for means). */
  counts: number[][];
  rowTotals?: number[];
  colTotals?: number[];
  grandTotal?: number;
  chiSquare?: ChiSquaredResult;
}

export interface RxCrossTabsOptions extends CubeOptions {
  /** Tables of means instead of sums for a dependent variable (default false). */
  means?: boolean;
  /** Add row/column/grand totals (default true for counts and sums). */
  marginals?: boolean;
  /** Run a chi-square test of independence per table (default true). */
  chisqTest?: boolean;
}

export class RxCrossTabsResult {
  readonly tables: CrossTable[];
  readonly formula: string;
  readonly dependents: string[];
  readonly validObs: number;
  readonly missingObs: number;
  readonly dataName: string;
  readonly statistic: 'counts' | 'sums' | 'means';
  constructor(init: Omit<RxCrossTabsResult, 'toString' | 'summary'>) {
    this.tables = init.tables;
    this.formula = init.formula;
    this.dependents = init.dependents;
    this.validObs = init.validObs;
    this.missingObs = init.missingObs;
    this.dataName = init.dataName;
    this.statistic = init.statistic;
  }
  private header(): string[] {
    const out = ['Call:', `rxCrossTabs(formula = ${this.formula}, data = ${this.dataName})`, '', `Cross Tabulation Results for: ${this.formula}`, `Data: ${this.dataName}`];
    if (this.dependents.length) out.push(`Dependent variable(s): ${this.dependents.join(', ')}`);
    out.push(`Number of valid observations: ${this.validObs}`, `Number of missing observations: ${this.missingObs} `, `Statistic: ${this.statistic} `);
    return out;
  }
  private title(t: CrossTable): string {
    const sl = Object.entries(t.slice).map(([k, v]) => `${k} = ${v}`);
    return `${[t.dependent ?? 'counts', ...sl].join(', ')} (${t.statistic}):`;
  }
  toString(): string {
    const out = this.header();
    this.tables.forEach((t, i) => {
      if (i > 0) out.push('', ':'.repeat(78));
      out.push('', this.title(t));
      const vals = formatNumbers(t.values.flat());
      const C = t.colLevels.length;
      const body = t.rowLevels.map((r, ri) => [`  ${r}`, ...t.values[ri]!.map((_, j) => vals[ri * C + j]!)]);
      if (t.colFactor) out.push(`\t${t.colFactor}`);
      out.push(layoutTable([t.rowFactor, ...t.colLevels], body, ['l', ...t.colLevels.map((): Align => 'r')], '', ['l', ...t.colLevels.map((): Align => 'r')]));
    });
    return out.join('\n');
  }
  /** Tables with totals and Row% / Col% / Tot%, and the chi-square tests (RevoScaleR's summary()). */
  summary(): string {
    const out = this.header();
    this.tables.forEach((t, i) => {
      if (i > 0) out.push('', ':'.repeat(78));
      out.push('', this.title(t));
      const rt = t.values.map((r) => r.reduce((s, x) => s + x, 0));
      const ct = t.colLevels.map((_, j) => t.values.reduce((s, r) => s + r[j]!, 0));
      const g = rt.reduce((s, x) => s + x, 0);
      const rows: { label: string; vals: number[]; total: number }[] = [];
      t.rowLevels.forEach((r, ri) => {
        const v = t.values[ri]!;
        rows.push({ label: r, vals: v, total: rt[ri]! });
        rows.push({ label: '   Row%', vals: v.map((x) => (100 * x) / rt[ri]!), total: Number.NaN });
        rows.push({ label: '   Col%', vals: v.map((x, j) => (100 * x) / ct[j]!), total: Number.NaN });
        rows.push({ label: '   Tot%', vals: v.map((x) => (100 * x) / g), total: (100 * rt[ri]!) / g });
      });
      rows.push({ label: 'Col Total', vals: ct, total: Number.NaN });
      const all = formatNumbers([...rows.flatMap((r) => r.vals), g]);
      const tot = formatNumbers(rows.map((r) => r.total), 7, '');
      const C = t.colLevels.length;
      const body = rows.map((r, k) => [r.label, ...all.slice(k * C, k * C + C), tot[k]!]);
      body.push(['Grand Total', all[all.length - 1]!, ...new Array(C).fill('')]);
      out.push(layoutTable(['', ...t.colLevels, 'Row Total'], body, ['l', ...t.colLevels.map((): Align => 'r'), 'r'], '', ['l', ...t.colLevels.map((): Align => 'r'), 'r']));
      if (t.chiSquare) {
        const c = t.chiSquare;
        out.push('', `Chi-squared test of independence between ${t.rowFactor} and ${t.colFactor}`);
        out.push(layoutTable(['X-squared', 'df', 'p-value', "Cramer's V"], [[formatNumbers([c.statistic])[0]!, String(c.df), c.pValue.toExponential(6), formatNumbers([c.cramersV])[0]!]], ['r', 'r', 'r', 'r'], ' ', ['r', 'r', 'r', 'r']));
      }
    });
    return out.join('\n');
  }
}

export async function rxCrossTabs(formula: string, data: unknown, options: RxCrossTabsOptions = {}): Promise<RxCrossTabsResult> {
  const { f, st, dataName } = await runCube('rxCrossTabs', formula, data, options);
  const means = options.means ?? false;
  const statistic: CrossTable['statistic'] = f.lhs.length ? (means ? 'means' : 'sums') : 'counts';
  const dims = st.dims;
  const D0 = dims[0]!;
  const D1 = dims.length > 1 ? dims[1]! : 1;
  const rest = dims.slice(2);
  const nSlices = gridSize(rest);
  const tables: CrossTable[] = [];
  const deps: (number | undefined)[] = f.lhs.length ? f.lhs.map((_, j) => j) : [undefined];
  for (const j of deps) {
    for (let s = 0; s < nSlices; s++) {
      const slice: Record<string, string> = {};
      let r = s;
      rest.forEach((d, k) => {
        slice[st.tracks[k + 2]!.outName] = st.tracks[k + 2]!.levels[r % d]!;
        r = Math.floor(r / d);
      });
      const values: number[][] = [];
      const counts: number[][] = [];
      for (let a = 0; a < D0; a++) {
        const vr: number[] = [];
        const cr: number[] = [];
        for (let b = 0; b < D1; b++) {
          const c = a + D0 * b + D0 * D1 * s;
          cr.push(st.counts[c]!);
          if (j === undefined) vr.push(st.counts[c]!);
          else {
            const m = st.deps[j]!;
            vr.push(m.n[c]! > 0 ? (means ? meanOf(m, c) : meanOf(m, c) * m.w[c]!) : means ? Number.NaN : 0);
          }
        }
        values.push(vr);
        counts.push(cr);
      }
      const t: CrossTable = {
        dependent: j === undefined ? undefined : f.lhs[j]!.name,
        statistic,
        rowFactor: st.tracks[0]!.outName,
        colFactor: st.tracks[1]?.outName,
        rowLevels: st.tracks[0]!.levels.slice(0, D0),
        colLevels: st.tracks[1] ? st.tracks[1].levels.slice(0, D1) : [statistic],
        slice,
        values,
        counts,
      };
      if (statistic !== 'means' && (options.marginals ?? true)) {
        t.rowTotals = values.map((row) => row.reduce((x, y) => x + y, 0));
        t.colTotals = t.colLevels.map((_, b) => values.reduce((x, row) => x + row[b]!, 0));
        t.grandTotal = t.rowTotals.reduce((x, y) => x + y, 0);
      }
      if (statistic !== 'means' && D1 > 1 && (options.chisqTest ?? true)) t.chiSquare = chiSquaredTest(values, { dropZeroMargins: true });
      tables.push(t);
    }
  }
  return new RxCrossTabsResult({ tables, formula: f.text, dependents: f.lhs.map((y) => y.name), validObs: st.rows - st.missing, missingObs: st.missing, dataName, statistic });
}

/**
 * Chi-square test of independence per table of an rxCrossTabs / rxCube(2 factors) result, or for
 * a plain matrix, as R's chisq.test: a zero row or column total gives NaN (unless
 * dropZeroMargins), and a table without any positive count is an error.
 */
export function rxChiSquaredTest(x: RxCrossTabsResult | number[][], opts: ChiSquaredOptions = {}): ChiSquaredResult[] {
  const test = (t: number[][]) => {
    if (!t.some((r) => r.some((v) => v > 0))) throw new RxError('RX_ARG', 'rxChiSquaredTest: at least one count of the table must be positive');
    return chiSquaredTest(t, opts);
  };
  if (x instanceof RxCrossTabsResult) {
    return x.tables.map((t) => {
      if (t.statistic === 'means') throw new RxError('RX_ARG', 'rxChiSquaredTest needs tables of counts or sums, not means');
      return test(t.values);
    });
  }
  return [test(asMatrix(x, 'rxChiSquaredTest table'))];
}

/** Fisher's exact test per 2x2 table of an rxCrossTabs result, or for a plain 2x2 matrix. */
export function rxFisherTest(x: RxCrossTabsResult | number[][], opts: { alternative?: 'two.sided' | 'less' | 'greater' } = {}): FisherResult[] {
  if (x instanceof RxCrossTabsResult) return x.tables.map((t) => fisherTest(t.values, opts));
  return [fisherTest(x, opts)];
}
