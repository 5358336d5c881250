/**
 * rxSummary: one chunked pass (plus a range pass when F(x) has no known low/high) that
 * gives numeric statistics, category counts and by-category statistics.
 */
import { writeFileSync } from 'node:fs';
import { registerAccumulator } from '../compute/pema.js';
import type { AccumulatorDef } from '../compute/pema.js';
import type { Chunk, Column, DataSink, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import { resolveOutput } from '../etl/common.js';
import { argError, expectString, expectStringArray, optional } from '../validate.js';
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
  stdDev,
  weightsOf,
} from './core.js';
import { type Align, formatNumbers, layoutTable } from './format.js';
import { type CommonOptions, dataLabel, runAcc, sourceOf } from './run.js';
import { type SVar, functionTermNames, parseSummaryFormula, resolveTerms } from './terms.js';

export const SUMMARY_STATS = ['Mean', 'StdDev', 'Min', 'Max', 'ValidObs', 'MissingObs', 'Sum', 'SumOfWeights'] as const;
export type SummaryStat = (typeof SUMMARY_STATS)[number];

export interface RxSummaryOptions extends CommonOptions {
  summaryStats?: SummaryStat[];
  /** Frequency weights column: a row counts `w` times (StdDev denominator sum(w) - 1). */
  fweights?: string;
  /** Probability weights column: same point estimates as fweights; StdDev also uses sum(w) - 1, as RevoScaleR prints. ValidObs stays the number of rows. */
  pweights?: string;
  /** true (default): missing values are removed term by term; false: rows with any missing term variable are dropped. */
  byTerm?: boolean;
  removeZeroCounts?: boolean;
  /** Write by-group statistics (terms like y:F) to a .csv path, an .xdf / .parquet path or a DataSink (e.g. an RxXdfData). */
  byGroupOutFile?: string | DataSink;
  /** Name shown for the data in the printout. */
  dataName?: string;
}

type Item =
  | { kind: 'num'; label: string; x: string }
  | { kind: 'cat'; label: string; factors: SVar[] }
  | { kind: 'numby'; label: string; x: string; factors: SVar[] };

export interface SummarySpec {
  items: Item[];
  weights?: string;
  byTerm: boolean;
  pass: 'range' | 'main';
  rangeVars: string[];
  ranges: Record<string, { low: number; high: number }>;
}

interface ItemState {
  tracks: FactorTrack[];
  dims: number[];
  /** num / numby: overall moments (1 cell). */
  all?: Moments;
  missing: number;
  /** numby: per-cell moments; cat: counts (weighted) per cell. */
  cells?: Moments;
  counts?: Float64Array;
  /** Unweighted rows per cell (cat). */
  rowsPerCell?: Float64Array;
  /** numby: rows whose factor combination was missing. */
  groupMissing?: number;
}

interface SummaryState {
  rows: number;
  items: ItemState[];
  /** range pass: min/max per variable */
  lo?: Float64Array;
  hi?: Float64Array;
}

function factorsOf(it: Item): SVar[] {
  return it.kind === 'num' ? [] : it.factors;
}

function syncDims(st: ItemState): void {
  const nd = st.tracks.map((t) => t.levels.length);
  if (nd.every((d, i) => d === st.dims[i])) return;
  const maps = nd.map(() => null);
  if (st.cells) st.cells = remapMoments(st.cells, st.dims, nd, maps);
  if (st.counts) st.counts = remapCells(st.counts, st.dims, nd, maps, 0);
  if (st.rowsPerCell) st.rowsPerCell = remapCells(st.rowsPerCell, st.dims, nd, maps, 0);
  st.dims = nd;
}

export const summaryAccumulator: AccumulatorDef<SummarySpec, SummaryState, SummaryState> = registerAccumulator<SummarySpec, SummaryState, SummaryState>({
  name: 'rxSummary',
  columns(spec) {
    const s = new Set<string>();
    for (const it of spec.items) {
      if (it.kind !== 'cat') s.add(it.x);
      for (const f of factorsOf(it)) s.add(f.name);
    }
    if (spec.weights) s.add(spec.weights);
    return [...s];
  },
  init(spec, schema) {
    if (spec.pass === 'range') {
      return {
        rows: 0,
        items: [],
        lo: new Float64Array(spec.rangeVars.length).fill(Number.POSITIVE_INFINITY),
        hi: new Float64Array(spec.rangeVars.length).fill(Number.NEGATIVE_INFINITY),
      };
    }
    const items = spec.items.map((it): ItemState => {
      const tracks = factorsOf(it).map((f) => newTrack(f, columnInfo(schema, f.name, it.label), spec.ranges[f.name]));
      const dims = tracks.map((t) => t.levels.length);
      const cells = gridSize(dims);
      if (it.kind === 'num') return { tracks, dims, all: newMoments(1), missing: 0 };
      if (it.kind === 'cat') return { tracks, dims, counts: new Float64Array(cells), rowsPerCell: new Float64Array(cells), missing: 0 };
      return { tracks, dims, all: newMoments(1), cells: newMoments(cells), missing: 0, groupMissing: 0 };
    });
    return { rows: 0, items };
  },
  process(spec, state, chunk) {
    const n = chunk.numRows;
    state.rows += n;
    if (spec.pass === 'range') {
      spec.rangeVars.forEach((v, k) => {
        const x = numericOf(chunk, v, `F(${v})`);
        let lo = state.lo![k]!;
        let hi = state.hi![k]!;
        for (let i = 0; i < n; i++) {
          const t = x[i]!;
          if (t < lo) lo = t;
          if (t > hi) hi = t;
        }
        state.lo![k] = lo;
        state.hi![k] = hi;
      });
      return state;
    }
    const w = weightsOf(chunk, spec.weights);
    let keep: Int32Array | null = null;
    if (!spec.byTerm) {
      keep = new Int32Array(n);
      for (const [k, it] of spec.items.entries()) {
        if (it.kind !== 'cat') {
          const x = numericOf(chunk, it.x, it.label);
          for (let i = 0; i < n; i++) if (Number.isNaN(x[i])) keep[i] = -1;
        }
        for (const t of state.items[k]!.tracks) {
          const c = codesOf(chunk, t, it.label);
          for (let i = 0; i < n; i++) if (c[i]! < 0) keep[i] = -1;
        }
      }
    }
    spec.items.forEach((it, k) => {
      const st = state.items[k]!;
      const codes = st.tracks.map((t) => codesOf(chunk, t, it.label));
      syncDims(st);
      if (it.kind === 'num') {
        const x = numericOf(chunk, it.x, it.label);
        const miss = new Float64Array(1);
        accumulateMoments(st.all!, x, w, keep, miss);
        st.missing += miss[0]!;
        return;
      }
      let cell = cellIndex(codes, st.dims, n);
      if (keep) {
        cell = cell.slice();
        for (let i = 0; i < n; i++) if (keep[i]! < 0) cell[i] = -2;
      }
      if (it.kind === 'cat') {
        const counts = st.counts!;
        const rpc = st.rowsPerCell!;
        let missing = 0;
        if (!w) {
          for (let i = 0; i < n; i++) {
            const c = cell[i]!;
            if (c >= 0) rpc[c] = rpc[c]! + 1;
            else if (c === -1) missing++;
          }
          for (let c = 0; c < counts.length; c++) counts[c] = rpc[c]!;
        } else {
          for (let i = 0; i < n; i++) {
            const c = cell[i]!;
            if (c === -2) continue;
            const wi = w[i]!;
            if (!(wi >= 0)) continue;
            if (c < 0) missing++;
            else {
              counts[c] = counts[c]! + wi;
              rpc[c] = rpc[c]! + 1;
            }
          }
        }
        st.missing += missing;
        return;
      }
      const x = numericOf(chunk, it.x, it.label);
      const miss = new Float64Array(1);
      const allCell = keep ?? null;
      accumulateMoments(st.all!, x, w, allCell, miss);
      st.missing += miss[0]!;
      for (let i = 0; i < n; i++) if (cell[i] === -1 && !Number.isNaN(x[i])) st.groupMissing = st.groupMissing! + 1;
      accumulateMoments(st.cells!, x, w, cell, null);
    });
    return state;
  },
  merge(spec, a, b) {
    a.rows += b.rows;
    if (spec.pass === 'range') {
      for (let k = 0; k < a.lo!.length; k++) {
        a.lo![k] = Math.min(a.lo![k]!, b.lo![k]!);
        a.hi![k] = Math.max(a.hi![k]!, b.hi![k]!);
      }
      return a;
    }
    a.items.forEach((sa, k) => {
      const sb = b.items[k]!;
      const maps = sb.tracks.map((t, f) => levelMap(t.levels, sa.tracks[f]!.levels));
      syncDims(sa);
      const bm = (arr: Float64Array) => remapCells(arr, sb.dims, sa.dims, maps, 0);
      sa.missing += sb.missing;
      if (sa.all) mergeMoments(sa.all, sb.all!);
      if (sa.counts) {
        const c = bm(sb.counts!);
        const r = bm(sb.rowsPerCell!);
        for (let i = 0; i < c.length; i++) {
          sa.counts[i] = sa.counts[i]! + c[i]!;
          sa.rowsPerCell![i] = sa.rowsPerCell![i]! + r[i]!;
        }
      }
      if (sa.cells) {
        mergeMoments(sa.cells, remapMoments(sb.cells!, sb.dims, sa.dims, maps));
        sa.groupMissing = sa.groupMissing! + sb.groupMissing!;
      }
    });
    return a;
  },
  finalize(spec, state) {
    if (spec.pass === 'range') {
      const ranges = { ...spec.ranges };
      spec.rangeVars.forEach((v, k) => {
        const lo = state.lo![k]!;
        const hi = state.hi![k]!;
        ranges[v] = Number.isFinite(lo) ? { low: Math.trunc(lo), high: Math.trunc(hi) } : { low: 0, high: -1 };
      });
      return { done: false, spec: { ...spec, pass: 'main', ranges } };
    }
    // string factors: sort levels like R's factor()
    for (const st of state.items) {
      if (!st.tracks.some((t) => t.kind === 'string')) continue;
      const maps = st.tracks.map((t) => {
        if (t.kind !== 'string') return null;
        const sorted = [...t.levels].sort();
        const m = levelMap(t.levels, sorted);
        t.levels = sorted;
        return m;
      });
      if (st.cells) st.cells = remapMoments(st.cells, st.dims, st.dims, maps);
      if (st.counts) st.counts = remapCells(st.counts, st.dims, st.dims, maps, 0);
      if (st.rowsPerCell) st.rowsPerCell = remapCells(st.rowsPerCell, st.dims, st.dims, maps, 0);
    }
    return { done: true, result: state };
  },
});

// ---------------------------------------------------------------------------------------
// Result

export interface SummaryRow {
  Name: string;
  Mean: number;
  StdDev: number;
  Min: number;
  Max: number;
  ValidObs: number;
  MissingObs: number;
  Sum?: number;
  SumOfWeights?: number;
}

export interface CategoryTable {
  /** Term label, e.g. `sex` or `sex:state`. */
  name: string;
  /** Factor output names, e.g. ['sex', 'state']. */
  factors: string[];
  /** Level of each factor for each row. */
  levels: string[][];
  counts: number[];
  validObs: number;
  missingObs: number;
}

export interface ByCategoryRow {
  Category: string;
  levels: string[];
  Means: number;
  StdDev: number;
  Min: number;
  Max: number;
  ValidObs: number;
  SumOfWeights: number;
}

export interface ByCategoryTable {
  name: string;
  variable: string;
  factors: string[];
  rows: ByCategoryRow[];
  /** Rows where the variable was present but a factor was missing. */
  missingGroup: number;
}

export class RxSummaryResult {
  readonly formula: string;
  readonly sDataFrame: SummaryRow[];
  readonly categorical: CategoryTable[];
  readonly byCategory: ByCategoryTable[];
  readonly nobsValid: number;
  readonly nobsMissing: number;
  readonly summaryStats: SummaryStat[];
  readonly weights: { kind: 'fweights' | 'pweights'; name: string } | undefined;
  readonly dataName: string;
  readonly byGroupOutFile: string | undefined;

  constructor(init: Omit<RxSummaryResult, 'toString' | 'toJSON'>) {
    this.formula = init.formula;
    this.sDataFrame = init.sDataFrame;
    this.categorical = init.categorical;
    this.byCategory = init.byCategory;
    this.nobsValid = init.nobsValid;
    this.nobsMissing = init.nobsMissing;
    this.summaryStats = init.summaryStats;
    this.weights = init.weights;
    this.dataName = init.dataName;
    this.byGroupOutFile = init.byGroupOutFile;
  }

  toJSON(): Record<string, unknown> {
    return {
      formula: this.formula,
      sDataFrame: this.sDataFrame,
      categorical: this.categorical,
      byCategory: this.byCategory,
      nobsValid: this.nobsValid,
      nobsMissing: this.nobsMissing,
    };
  }

  toString(): string {
    const out: string[] = [];
    out.push('Call:', `rxSummary(formula = ${this.formula}, data = ${this.dataName}${this.weights ? `, ${this.weights.kind} = "${this.weights.name}"` : ''})`, '');
    out.push(`Summary Statistics Results for: ${this.formula}`);
    out.push(`Data: ${this.dataName}`);
    if (this.weights) out.push(`${this.weights.kind === 'pweights' ? 'Probability' : 'Frequency'} weights: ${this.weights.name}`);
    out.push(`Number of valid observations: ${this.nobsValid} `);
    if (this.sDataFrame.length) {
      out.push(' ');
      const stats = this.summaryStats;
      const header = ['Name', ...stats];
      const cols = stats.map((s) => {
        const vals = this.sDataFrame.map((r) => (r[s] as number | undefined) ?? Number.NaN);
        return s === 'ValidObs' || s === 'MissingObs' || s === 'SumOfWeights' ? vals.map((v) => String(v)) : formatNumbers(vals);
      });
      const rows = this.sDataFrame.map((r, i) => [r.Name, ...cols.map((c) => c[i]!)]);
      const align: Align[] = ['l', ...stats.map((s): Align => (s === 'ValidObs' || s === 'MissingObs' || s === 'SumOfWeights' ? 'l' : 'r'))];
      out.push(layoutTable(header, rows, align, ' ', header.map(() => 'l')));
    }
    for (const b of this.byCategory) {
      if (this.byGroupOutFile) {
        out.push('', `By-group statistics for ${b.name} contained in ${this.byGroupOutFile}`);
        continue;
      }
      out.push('', `Statistics by category (${b.rows.length} categories):`, '');
      const means = formatNumbers(b.rows.map((r) => r.Means));
      const sds = formatNumbers(b.rows.map((r) => r.StdDev));
      const mins = formatNumbers(b.rows.map((r) => r.Min));
      const maxs = formatNumbers(b.rows.map((r) => r.Max));
      const header = ['Category', ...b.factors, 'Means', 'StdDev', 'Min', 'Max', 'ValidObs'];
      const rows = b.rows.map((r, i) => [r.Category, ...r.levels, means[i]!, sds[i]!, mins[i]!, maxs[i]!, String(r.ValidObs)]);
      const align: Align[] = ['l', ...b.factors.map((): Align => 'l'), 'r', 'r', 'r', 'r', 'l'];
      out.push(layoutTable(header, rows, align, ' ', header.map(() => 'l')));
    }
    for (const c of this.categorical) {
      out.push('', `Category Counts for ${c.factors[0]}`, `Number of categories: ${c.counts.length}`);
      if (!this.weights) out.push(`Number of valid observations: ${c.validObs}`, `Number of missing observations: ${c.missingObs}`);
      out.push('');
      const counts = c.counts.map((x) => (Number.isInteger(x) ? String(x) : formatNumbers([x])[0]!));
      const rows = c.counts.map((_, i) => [...c.levels.map((l) => l[i]!), counts[i]!]);
      const header = [...c.factors, 'Counts'];
      out.push(layoutTable(header, rows, [...c.factors.map((): Align => 'l'), 'r'], ' ', header.map(() => 'l')));
    }
    return out.join('\n');
  }
}

/** Levels of each factor for every cell of a grid (first factor fastest). */
export function gridLevels(tracks: FactorTrack[], dims: number[]): string[][] {
  const total = gridSize(dims);
  const out = tracks.map(() => new Array<string>(total));
  for (let c = 0; c < total; c++) {
    let r = c;
    for (let f = 0; f < dims.length; f++) {
      out[f]![c] = tracks[f]!.levels[r % dims[f]!]!;
      r = Math.floor(r / dims[f]!);
    }
  }
  return out;
}

function validateStats(v: unknown): SummaryStat[] {
  const s = expectStringArray(v, 'summaryStats');
  for (const x of s) if (!SUMMARY_STATS.includes(x as SummaryStat)) throw argError(`summaryStats from ${SUMMARY_STATS.join(', ')}`, 'summaryStats', x);
  return s as SummaryStat[];
}

/** Builds the summary items from a formula and a schema. */
export function summaryItems(formula: string, schema: Schema, exclude: string[] = []): { items: Item[]; rangeVars: string[] } {
  const f = parseSummaryFormula(formula);
  const items: Item[] = [];
  const rangeVars = new Set<string>();
  // `.`: every numeric and factor column except weights, response and function-term columns
  // (with a response, `y ~ .` means y by every factor)
  const skip = new Set([...exclude, ...f.lhs.map((y) => y.name), ...functionTermNames(f)]);
  const dotCols = schema.columns.filter((c) => !skip.has(c.name) && (isFactorType(c.type) || (f.lhs.length === 0 && isNumericType(c.type)))).map((c) => c.name);
  const terms = resolveTerms(f, dotCols);
  // `y ~ A + B` is summarised like `~ y:A + y:B`
  const allTerms = f.lhs.length ? f.lhs.flatMap((y) => terms.map((t) => ({ vars: [y, ...t.vars], label: [y.label, ...t.vars.map((v) => v.label)].join(':') }))) : terms;
  for (const term of allTerms) {
    const nums: SVar[] = [];
    const facs: SVar[] = [];
    for (const v of term.vars) {
      const info = columnInfo(schema, v.name, term.label);
      if (v.asFactor) {
        if (!isNumericType(info.type)) throw new RxError('RX_FORMULA', `F(${v.name}) in term "${term.label}" needs a numeric variable but "${v.name}" is ${info.type}`, { column: v.name, text: term.label });
        if ((v.low === undefined || v.high === undefined) && (info.low === undefined || info.high === undefined)) rangeVars.add(v.name);
        facs.push(v);
      } else if (isFactorType(info.type)) facs.push(v);
      else if (isNumericType(info.type)) nums.push(v);
      else throw new RxError('RX_FORMULA', `Variable "${v.name}" in term "${term.label}" has unsupported type ${info.type}`, { column: v.name, text: term.label });
    }
    if (nums.length > 1) {
      throw new RxError('RX_FORMULA', `Term "${term.label}" interacts ${nums.length} numeric variables (${nums.map((v) => v.name).join(', ')}); at most one numeric variable per term`, {
        text: term.label,
      });
    }
    if (nums.length === 0) items.push({ kind: 'cat', label: term.label, factors: facs });
    else if (facs.length === 0) items.push({ kind: 'num', label: term.label, x: nums[0]!.name });
    else items.push({ kind: 'numby', label: term.label, x: nums[0]!.name, factors: facs });
  }
  return { items, rangeVars: [...rangeVars] };
}

export async function rxSummary(formula: string, data: unknown, options: RxSummaryOptions = {}): Promise<RxSummaryResult> {
  expectString(formula, 'formula');
  const parsed = parseSummaryFormula(formula);
  const source = sourceOf(data, options, parsed);
  const schema = await source.schema();
  const summaryStats = optional(options.summaryStats, ['Mean', 'StdDev', 'Min', 'Max', 'ValidObs', 'MissingObs'] as SummaryStat[], validateStats);
  if (options.fweights !== undefined && options.pweights !== undefined) throw new RxError('RX_ARG', 'Give fweights or pweights, not both');
  const wname = options.fweights ?? options.pweights;
  if (wname !== undefined) {
    expectString(wname, options.fweights !== undefined ? 'fweights' : 'pweights');
    const wi = columnInfo(schema, wname, wname);
    if (!isNumericType(wi.type)) throw new RxError('RX_FORMULA', `Weight variable "${wname}" must be numeric but is ${wi.type}`, { column: wname });
  }
  const { items, rangeVars } = summaryItems(formula, schema, wname ? [wname] : []);
  const spec: SummarySpec = {
    items,
    byTerm: options.byTerm ?? true,
    pass: rangeVars.length ? 'range' : 'main',
    rangeVars,
    ranges: {},
  };
  if (wname) spec.weights = wname;
  const state = await runAcc(summaryAccumulator, spec, source, options, true);
  const sDataFrame: SummaryRow[] = [];
  const categorical: CategoryTable[] = [];
  const byCategory: ByCategoryTable[] = [];
  const removeZero = options.removeZeroCounts ?? false;
  items.forEach((it, k) => {
    const st = state.items[k]!;
    if (it.kind === 'num' || it.kind === 'numby') {
      const m = st.all!;
      sDataFrame.push({
        Name: it.label,
        Mean: meanOf(m, 0),
        StdDev: stdDev(m, 0),
        Min: m.n[0]! > 0 ? m.min[0]! : Number.NaN,
        Max: m.n[0]! > 0 ? m.max[0]! : Number.NaN,
        ValidObs: m.n[0]!,
        MissingObs: st.missing,
        Sum: m.n[0]! > 0 ? meanOf(m, 0) * m.w[0]! : 0,
        SumOfWeights: m.w[0]!,
      });
    }
    if (it.kind === 'cat') {
      const lv = gridLevels(st.tracks, st.dims);
      const keep = [...st.counts!.keys()].filter((i) => !removeZero || st.counts![i]! > 0);
      const valid = st.rowsPerCell!.reduce((s, x) => s + x, 0);
      categorical.push({
        name: it.label,
        factors: st.tracks.map((t) => t.outName),
        levels: lv.map((l) => keep.map((i) => l[i]!)),
        counts: keep.map((i) => st.counts![i]!),
        validObs: valid,
        missingObs: st.missing,
      });
    }
    if (it.kind === 'numby') {
      const lv = gridLevels(st.tracks, st.dims);
      const c = st.cells!;
      const rows: ByCategoryRow[] = [];
      for (let i = 0; i < c.n.length; i++) {
        if (removeZero && c.n[i] === 0) continue;
        const levels = lv.map((l) => l[i]!);
        const fl = factorsOf(it);
        rows.push({
          Category: `${it.x} for ${fl.map((f, j) => `${f.label}=${levels[j]}`).join(', ')}`,
          levels,
          Means: meanOf(c, i),
          StdDev: stdDev(c, i),
          Min: c.n[i]! > 0 ? c.min[i]! : Number.NaN,
          Max: c.n[i]! > 0 ? c.max[i]! : Number.NaN,
          ValidObs: c.n[i]!,
          SumOfWeights: c.w[i]!,
        });
      }
      byCategory.push({ name: it.label, variable: it.x, factors: st.tracks.map((t) => t.outName), rows, missingGroup: st.groupMissing! });
    }
  });
  let outFile: string | undefined;
  if (options.byGroupOutFile !== undefined && byCategory.length) outFile = await writeByGroup(options.byGroupOutFile, byCategory, summaryStats);
  const init: ConstructorParameters<typeof RxSummaryResult>[0] = {
    formula: parsed.text,
    sDataFrame,
    categorical,
    byCategory,
    nobsValid: state.rows,
    nobsMissing: 0,
    summaryStats,
    weights: wname ? { kind: options.fweights !== undefined ? 'fweights' : 'pweights', name: wname } : undefined,
    dataName: options.dataName ?? dataLabel(source),
    byGroupOutFile: outFile,
  };
  return new RxSummaryResult(init);
}

/** By-group output: one row per cell, columns = factor levels + <var>_<stat> per by-group term sharing those factors. */
async function writeByGroup(dest: string | DataSink, tables: ByCategoryTable[], stats: SummaryStat[]): Promise<string> {
  const first = tables[0]!;
  const same = tables.filter((t) => t.factors.join(':') === first.factors.join(':'));
  const statCols = stats.filter((s) => s === 'Mean' || s === 'StdDev' || s === 'Min' || s === 'Max' || s === 'ValidObs' || s === 'SumOfWeights' || s === 'Sum');
  const nrow = first.rows.length;
  const cols: Record<string, Column> = {};
  const names: string[] = [];
  first.factors.forEach((f, j) => {
    const levels = [...new Set(first.rows.map((r) => r.levels[j]!))];
    const idx = new Map(levels.map((l, k) => [l, k]));
    cols[f] = { type: 'factor', data: Int32Array.from(first.rows.map((r) => idx.get(r.levels[j]!)!)), levels };
    names.push(f);
  });
  for (const t of same) {
    for (const s of statCols) {
      const name = `${t.variable}_${s}`;
      const v = t.rows.map((r) =>
        s === 'Mean' ? r.Means : s === 'StdDev' ? r.StdDev : s === 'Min' ? r.Min : s === 'Max' ? r.Max : s === 'ValidObs' ? r.ValidObs : s === 'Sum' ? r.Means * r.SumOfWeights : r.SumOfWeights,
      );
      cols[name] = { type: 'float64', data: Float64Array.from(v) };
      names.push(name);
    }
  }
  if (typeof dest === 'string' && !dest.toLowerCase().endsWith('.csv')) {
    // .xdf / .parquet / other paths: the same sinks rxImport / rxDataStep write
    const sink = resolveOutput(dest, 'byGroupOutFile')!;
    await writeSink(sink, names, cols, nrow);
    return dest;
  }
  if (typeof dest === 'string') {
    const esc = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const lines = [names.map(esc).join(',')];
    for (let i = 0; i < nrow; i++) {
      lines.push(
        names
          .map((n) => {
            const c = cols[n]!;
            if (c.type === 'factor') return esc(c.levels![(c.data as Int32Array)[i]!]!);
            const x = (c.data as Float64Array)[i]!;
            return Number.isNaN(x) ? 'NA' : String(x);
          })
          .join(','),
      );
    }
    writeFileSync(dest, `${lines.join('\n')}\n`);
    return dest;
  }
  if (typeof dest !== 'object' || dest === null || typeof (dest as DataSink).open !== 'function') {
    throw argError('a .csv path or a DataSink', 'byGroupOutFile', dest);
  }
  await writeSink(dest, names, cols, nrow);
  return (dest as { describe?: () => string }).describe?.() ?? dest.kind;
}

async function writeSink(dest: DataSink, names: string[], cols: Record<string, Column>, nrow: number): Promise<void> {
  const schema: Schema = { columns: names.map((n) => ({ name: n, type: cols[n]!.type, ...(cols[n]!.levels ? { levels: cols[n]!.levels } : {}) })), numRows: nrow };
  const writer = await dest.open(schema, { overwrite: true, append: 'none' });
  const chunk: Chunk = { numRows: nrow, startRow: 0, names, columns: cols };
  try {
    await writer.write(chunk);
    await writer.close();
  } catch (e) {
    await writer.abort(e);
    throw e;
  }
}
