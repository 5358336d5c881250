/**
 * rxHistogram: counts of a numeric variable over equal-width "nice" bins (or of a factor's
 * levels), optionally in one panel per level of conditioning factors (`~ x | F`), computed
 * by a chunked accumulator (a range pass, then a counting pass) and drawn with Vega-Lite.
 * Bins are right-closed like R's hist(): (b[k], b[k+1]], the first one closed on both sides.
 */
import { registerAccumulator } from '../compute/pema.js';
import type { AccumulatorDef } from '../compute/pema.js';
import { RxError } from '../errors.js';
import { expectNumber, expectOneOf, expectString } from '../validate.js';
import {
  type FactorTrack,
  cellIndex,
  codesOf,
  columnInfo,
  gridSize,
  isFactorType,
  isNumericType,
  levelMap,
  newTrack,
  numericOf,
  remapCells,
} from '../summary/core.js';
import { formatNumbers } from '../summary/format.js';
import { type CommonOptions, runAcc, sourceOf } from '../summary/run.js';
import { type SVar, parseSummaryFormula } from '../summary/terms.js';
import { gridLevels } from '../summary/summary.js';
import { type PlotOutputOptions, type PlotResult, baseSpec, renderVegaLite } from './render.js';

export interface HistSpec {
  x: SVar;
  /** x is a factor (bars per level) instead of numeric bins. */
  categorical: boolean;
  cond: SVar[];
  pass: 'range' | 'count';
  breaks: number[];
  numBreaks: number;
  startVal?: number;
  endVal?: number;
  ranges: Record<string, { low: number; high: number }>;
  rangeVars: string[];
}

interface HistState {
  min: number;
  max: number;
  lo: Float64Array;
  hi: Float64Array;
  /** Conditioning grid + x bins (or x levels): counts[bin + nb * cell]. */
  tracks: FactorTrack[];
  dims: number[];
  xTrack?: FactorTrack;
  nb: number;
  counts: Float64Array;
  missing: number;
  outside: number;
  /** Bin edges used by the counting pass. */
  breaks: number[];
}

/** Equal-width breaks at "nice" values (1, 2, 5 x 10^k) covering [min, max], about `n` bins. */
export function niceBreaks(min: number, max: number, n: number): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) return [min - 0.5, min + 0.5];
  const raw = (max - min) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  const start = Math.floor(min / step);
  const end = Math.ceil(max / step);
  const out: number[] = [];
  for (let k = start; k <= Math.max(end, start + 1); k++) out.push(+(k * step).toPrecision(12));
  return out;
}

function binOf(v: number, breaks: number[]): number {
  const nb = breaks.length - 1;
  if (!(v >= breaks[0]!) || v > breaks[nb]!) return -1;
  let lo = 0;
  let hi = nb - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= breaks[mid + 1]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function syncDims(st: HistState): void {
  const nd = st.tracks.map((t) => t.levels.length);
  const nb = st.xTrack ? st.xTrack.levels.length : st.nb;
  if (nb === st.nb && nd.every((d, i) => d === st.dims[i])) return;
  st.counts = remapCells(st.counts, [st.nb, ...st.dims], [nb, ...nd], [null, ...nd.map(() => null)], 0);
  st.nb = nb;
  st.dims = nd;
}

export const histogramAccumulator: AccumulatorDef<HistSpec, HistState, HistState> = registerAccumulator<HistSpec, HistState, HistState>({
  name: 'rxHistogram',
  columns(spec) {
    return [...new Set([spec.x.name, ...spec.cond.map((c) => c.name), ...spec.rangeVars])];
  },
  init(spec, schema) {
    const st: HistState = {
      min: Infinity,
      max: -Infinity,
      lo: new Float64Array(spec.rangeVars.length).fill(Infinity),
      hi: new Float64Array(spec.rangeVars.length).fill(-Infinity),
      tracks: [],
      dims: [],
      nb: 0,
      counts: new Float64Array(0),
      missing: 0,
      outside: 0,
      breaks: spec.breaks,
    };
    if (spec.pass === 'range') return st;
    st.tracks = spec.cond.map((c) => newTrack(c, columnInfo(schema, c.name, c.label), spec.ranges[c.name]));
    st.dims = st.tracks.map((t) => t.levels.length);
    if (spec.categorical) st.xTrack = newTrack(spec.x, columnInfo(schema, spec.x.name, spec.x.label), spec.ranges[spec.x.name]);
    st.nb = st.xTrack ? st.xTrack.levels.length : spec.breaks.length - 1;
    st.counts = new Float64Array(st.nb * gridSize(st.dims));
    return st;
  },
  process(spec, st, chunk) {
    const n = chunk.numRows;
    if (spec.pass === 'range') {
      spec.rangeVars.forEach((v, k) => {
        const x = numericOf(chunk, v, v);
        for (let i = 0; i < n; i++) {
          const t = x[i]!;
          if (t < st.lo[k]!) st.lo[k] = t;
          if (t > st.hi[k]!) st.hi[k] = t;
        }
      });
      return st;
    }
    const codes = st.tracks.map((t) => codesOf(chunk, t, t.name));
    const xc = st.xTrack ? codesOf(chunk, st.xTrack, spec.x.label) : null;
    syncDims(st);
    const cell = cellIndex(codes, st.dims, n);
    const x = xc ? null : numericOf(chunk, spec.x.name, spec.x.label);
    for (let i = 0; i < n; i++) {
      const c = cell[i]!;
      let b: number;
      if (xc) b = xc[i]!;
      else {
        const v = x![i]!;
        if (Number.isNaN(v)) {
          st.missing++;
          continue;
        }
        b = binOf(v, spec.breaks);
        if (b < 0) {
          st.outside++;
          continue;
        }
      }
      if (b < 0 || c < 0) {
        st.missing++;
        continue;
      }
      const k = b + st.nb * c;
      st.counts[k] = st.counts[k]! + 1;
    }
    return st;
  },
  merge(spec, a, b) {
    if (spec.pass === 'range') {
      for (let k = 0; k < a.lo.length; k++) {
        a.lo[k] = Math.min(a.lo[k]!, b.lo[k]!);
        a.hi[k] = Math.max(a.hi[k]!, b.hi[k]!);
      }
      return a;
    }
    const maps = b.tracks.map((t, f) => levelMap(t.levels, a.tracks[f]!.levels));
    const xmap = b.xTrack ? levelMap(b.xTrack.levels, a.xTrack!.levels) : null;
    syncDims(a);
    const c = remapCells(b.counts, [b.nb, ...b.dims], [a.nb, ...a.dims], [xmap, ...maps], 0);
    for (let i = 0; i < c.length; i++) a.counts[i] = a.counts[i]! + c[i]!;
    a.missing += b.missing;
    a.outside += b.outside;
    return a;
  },
  finalize(spec, st) {
    if (spec.pass === 'range') {
      const ranges = { ...spec.ranges };
      let breaks = spec.breaks;
      spec.rangeVars.forEach((v, k) => {
        if (v === spec.x.name && !spec.categorical) {
          const lo = spec.startVal ?? st.lo[k]!;
          const hi = spec.endVal ?? st.hi[k]!;
          breaks = niceBreaks(lo, hi, spec.numBreaks);
          if (spec.startVal !== undefined) breaks[0] = spec.startVal;
          if (spec.endVal !== undefined) breaks[breaks.length - 1] = spec.endVal;
        }
        if (Number.isFinite(st.lo[k]!)) ranges[v] = { low: Math.trunc(st.lo[k]!), high: Math.trunc(st.hi[k]!) };
        else ranges[v] = { low: 0, high: -1 };
      });
      return { done: false, spec: { ...spec, pass: 'count', ranges, breaks } };
    }
    return { done: true, result: st };
  },
});

export interface RxHistogramOptions extends CommonOptions, PlotOutputOptions {
  /** Approximate number of bins (default 20; "nice" breaks are chosen). */
  numBreaks?: number;
  startVal?: number;
  endVal?: number;
  /** 'Counts' (default) or 'Percent' of the panel's total. */
  histType?: 'Counts' | 'Percent';
  xTitle?: string;
  yTitle?: string;
  /** Panels per row for `~ x | F` (default: about sqrt of the number of panels). */
  panelColumns?: number;
}

export interface HistogramBar {
  /** Panel label ('' without conditioning). */
  panel: string;
  /** Bin edges (numeric x) or level (factor x). */
  lo?: number;
  hi?: number;
  level?: string;
  count: number;
  percent: number;
}

export interface RxHistogramResult extends PlotResult {
  bars: HistogramBar[];
  breaks: number[] | undefined;
  panels: string[];
  missing: number;
}

export async function rxHistogram(formula: string, data: unknown, options: RxHistogramOptions = {}): Promise<RxHistogramResult> {
  expectString(formula, 'formula');
  const f = parseSummaryFormula(formula);
  if (f.terms.length !== 1 || f.terms[0]!.vars.length !== 1 || f.lhs.length) {
    throw new RxError('RX_FORMULA', `rxHistogram takes one variable: "~ x" or "~ x | F", got "${formula}"`, { text: formula });
  }
  const numBreaks = options.numBreaks === undefined ? 20 : expectNumber(options.numBreaks, 'numBreaks', { min: 1, max: 10000, integer: true });
  const histType = options.histType === undefined ? 'Counts' : expectOneOf(options.histType, ['Counts', 'Percent'] as const, 'histType');
  const source = sourceOf(data, options, f);
  const schema = await source.schema();
  const x = f.terms[0]!.vars[0]!;
  const xi = columnInfo(schema, x.name, x.label);
  const categorical = !!x.asFactor || isFactorType(xi.type);
  if (!categorical && !isNumericType(xi.type)) throw new RxError('RX_FORMULA', `rxHistogram cannot bin "${x.name}" of type ${xi.type}`, { column: x.name, text: x.label });
  const rangeVars: string[] = [];
  if (!categorical) rangeVars.push(x.name);
  else if (x.asFactor && (x.low === undefined || x.high === undefined)) rangeVars.push(x.name);
  for (const c of f.cond) {
    const ci = columnInfo(schema, c.name, c.label);
    if (c.asFactor) {
      if ((c.low === undefined || c.high === undefined) && !rangeVars.includes(c.name)) rangeVars.push(c.name);
    } else if (!isFactorType(ci.type)) {
      throw new RxError('RX_FORMULA', `Conditioning variable "${c.name}" is ${ci.type}; use F(${c.name}) or a factor`, { column: c.name, text: c.label });
    }
  }
  const spec: HistSpec = { x, categorical, cond: f.cond, pass: rangeVars.length ? 'range' : 'count', breaks: [], numBreaks, ranges: {}, rangeVars };
  if (options.startVal !== undefined) spec.startVal = expectNumber(options.startVal, 'startVal');
  if (options.endVal !== undefined) spec.endVal = expectNumber(options.endVal, 'endVal');
  const st = await runAcc(histogramAccumulator, spec, source, options);

  const panelsLv = gridLevels(st.tracks, st.dims);
  const nPanels = gridSize(st.dims);
  const panels = Array.from({ length: nPanels }, (_, c) => (st.tracks.length ? st.tracks.map((t, k) => `${t.outName} = ${panelsLv[k]![c]}`).join(', ') : ''));
  const bars: HistogramBar[] = [];
  const breaks = categorical ? undefined : st.breaks;
  for (let c = 0; c < nPanels; c++) {
    let tot = 0;
    for (let b = 0; b < st.nb; b++) tot += st.counts[b + st.nb * c]!;
    for (let b = 0; b < st.nb; b++) {
      const count = st.counts[b + st.nb * c]!;
      const bar: HistogramBar = { panel: panels[c]!, count, percent: tot > 0 ? (100 * count) / tot : 0 };
      if (breaks) {
        bar.lo = breaks[b]!;
        bar.hi = breaks[b + 1]!;
      } else bar.level = st.xTrack!.levels[b]!;
      bars.push(bar);
    }
  }
  const width = options.width ?? (nPanels > 1 ? 220 : 480);
  const height = options.height ?? (nPanels > 1 ? 160 : 300);
  const title = options.title ?? `Histogram of ${x.label}${f.cond.length ? ` by ${f.cond.map((c) => c.label).join(', ')}` : ''}`;
  const yField = histType === 'Counts' ? 'count' : 'percent';
  const yTitle = options.yTitle ?? (histType === 'Counts' ? 'Counts' : 'Percent of total');
  const xTitle = options.xTitle ?? x.label;
  const spec0 = baseSpec(title, width, height);
  const inner: Record<string, unknown> = breaks
    ? {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5, color: '#4c78a8' },
        encoding: {
          x: { field: 'lo', type: 'quantitative', title: xTitle, scale: { domain: [breaks[0], breaks[breaks.length - 1]], nice: false }, axis: breaks.length <= 13 ? { values: breaks } : { tickCount: 10 } },
          x2: { field: 'hi' },
          y: { field: yField, type: 'quantitative', title: yTitle },
          tooltip: [
            { field: 'lo', title: 'from' },
            { field: 'hi', title: 'to' },
            { field: 'count', title: 'count' },
          ],
        },
      }
    : {
        mark: { type: 'bar', color: '#4c78a8' },
        encoding: {
          x: { field: 'level', type: 'ordinal', title: xTitle, sort: null, axis: { labelAngle: st.nb > 8 ? -45 : 0 } },
          y: { field: yField, type: 'quantitative', title: yTitle },
        },
      };
  const vl: Record<string, unknown> = { ...spec0, data: { values: bars.map((b) => ({ ...b })) } };
  if (st.tracks.length) {
    const w = vl.width;
    const h = vl.height;
    delete vl.width;
    delete vl.height;
    vl.facet = { field: 'panel', type: 'nominal', title: null, sort: panels };
    vl.columns = options.panelColumns ?? Math.ceil(Math.sqrt(nPanels));
    vl.spec = { width: w, height: h, ...inner };
    vl.resolve = { axis: { x: 'independent' } };
  } else Object.assign(vl, inner);
  const res = await renderVegaLite(vl, options);
  return { ...res, bars, breaks, panels, missing: st.missing + st.outside };
}

/** Formats a bin label like "(10, 20]". */
export function binLabel(lo: number, hi: number, first: boolean): string {
  const [a, b] = formatNumbers([lo, hi]);
  return `${first ? '[' : '('}${a}, ${b}]`;
}
