/**
 * rxLinePlot: y against x (`y ~ x`, several series `y1 + y2 ~ x`, panels `y ~ x | F`)
 * drawn as lines ('l'), points ('p') or both ('b'). The points are gathered by a chunked
 * accumulator and must number at most `maxPoints` (default 1,000,000): summarise first
 * (rxCube, rxSummary) to plot more data.
 */
import { registerAccumulator } from '../compute/pema.js';
import type { AccumulatorDef } from '../compute/pema.js';
import { RxError } from '../errors.js';
import { expectNumber, expectOneOf, expectString } from '../validate.js';
import { type FactorTrack, codesOf, columnInfo, isFactorType, isNumericType, levelMap, newTrack, numericOf } from '../summary/core.js';
import { type CommonOptions, runAcc, sourceOf } from '../summary/run.js';
import { type SVar, parseSummaryFormula } from '../summary/terms.js';
import { type PlotOutputOptions, type PlotResult, baseSpec, renderVegaLite } from './render.js';

export interface LineSpec {
  ys: string[];
  x: string;
  cond: SVar[];
  maxPoints: number;
}

interface LineState {
  x: Float64Array[];
  y: Float64Array[][];
  /** Per conditioning factor, the level codes of each kept chunk. */
  codes: Int32Array[][];
  tracks: FactorTrack[];
  count: number;
}

export const linePlotAccumulator: AccumulatorDef<LineSpec, LineState, LineState> = registerAccumulator<LineSpec, LineState, LineState>({
  name: 'rxLinePlot',
  columns(spec) {
    return [...new Set([spec.x, ...spec.ys, ...spec.cond.map((c) => c.name)])];
  },
  init(spec, schema) {
    return { x: [], y: spec.ys.map(() => []), codes: spec.cond.map(() => []), tracks: spec.cond.map((c) => newTrack(c, columnInfo(schema, c.name, c.label))), count: 0 };
  },
  process(spec, st, chunk) {
    const n = chunk.numRows;
    const x = numericOf(chunk, spec.x, spec.x);
    const codes = st.tracks.map((t) => codesOf(chunk, t, t.name));
    st.count += n;
    if (st.count > spec.maxPoints) {
      throw new RxError('RX_ARG', `rxLinePlot would draw more than maxPoints = ${spec.maxPoints} points; summarise the data first (rxCube / rxSummary) or raise maxPoints`);
    }
    st.x.push(x.slice());
    spec.ys.forEach((y, j) => {
      st.y[j]!.push(numericOf(chunk, y, y).slice());
    });
    codes.forEach((c, f) => {
      st.codes[f]!.push(c.slice());
    });
    return st;
  },
  merge(_spec, a, b) {
    // conditioning factors here are factor columns (levels shared by code across chunks)
    a.x.push(...b.x);
    b.y.forEach((ys, j) => {
      a.y[j]!.push(...ys);
    });
    a.count += b.count;
    // b's codes refer to b's levels: re-code them onto a's
    b.tracks.forEach((t, f) => {
      const m = levelMap(t.levels, a.tracks[f]!.levels);
      for (const c of b.codes[f]!) a.codes[f]!.push(c.map((k) => (k < 0 ? -1 : m[k]!)));
    });
    return a;
  },
  finalize(_spec, st) {
    return { done: true, result: st };
  },
});

export interface RxLinePlotOptions extends CommonOptions, PlotOutputOptions {
  /** 'l' lines (default), 'p' points, 'b' both. */
  type?: 'l' | 'p' | 'b';
  xTitle?: string;
  yTitle?: string;
  maxPoints?: number;
  panelColumns?: number;
}

export interface RxLinePlotResult extends PlotResult {
  /** Series drawn (y variable names) and panels. */
  series: string[];
  panels: string[];
  points: number;
}

export async function rxLinePlot(formula: string, data: unknown, options: RxLinePlotOptions = {}): Promise<RxLinePlotResult> {
  expectString(formula, 'formula');
  const f = parseSummaryFormula(formula);
  if (f.lhs.length === 0 || f.terms.length !== 1 || f.terms[0]!.vars.length !== 1) {
    throw new RxError('RX_FORMULA', `rxLinePlot needs "y ~ x" (or "y1 + y2 ~ x", "y ~ x | F"), got "${formula}"`, { text: formula });
  }
  const type = options.type === undefined ? 'l' : expectOneOf(options.type, ['l', 'p', 'b'] as const, 'type');
  const maxPoints = options.maxPoints === undefined ? 1_000_000 : expectNumber(options.maxPoints, 'maxPoints', { min: 1, integer: true });
  const source = sourceOf(data, options, f);
  const schema = await source.schema();
  const x = f.terms[0]!.vars[0]!.name;
  for (const v of [x, ...f.lhs.map((y) => y.name)]) {
    const info = columnInfo(schema, v, v);
    if (!isNumericType(info.type)) throw new RxError('RX_FORMULA', `rxLinePlot needs numeric variables but "${v}" is ${info.type}`, { column: v, text: v });
  }
  for (const c of f.cond) {
    const info = columnInfo(schema, c.name, c.label);
    if (c.asFactor || !isFactorType(info.type)) throw new RxError('RX_FORMULA', `Panel variable "${c.name}" must be a factor`, { column: c.name, text: c.label });
  }
  const spec: LineSpec = { ys: f.lhs.map((y) => y.name), x, cond: f.cond, maxPoints };
  const st = await runAcc(linePlotAccumulator, spec, source, options);
  const values: { x: number; y: number; series: string; panel: string }[] = [];
  const panelSet = new Set<string>();
  st.x.forEach((xs, part) => {
    for (let i = 0; i < xs.length; i++) {
      if (Number.isNaN(xs[i]) || st.codes.some((c) => c[part]![i]! < 0)) continue;
      const panel = st.tracks.map((t, k) => `${t.outName} = ${t.levels[st.codes[k]![part]![i]!]}`).join(', ');
      panelSet.add(panel);
      spec.ys.forEach((yn, j) => {
        const y = st.y[j]![part]![i]!;
        if (!Number.isNaN(y)) values.push({ x: xs[i]!, y, series: yn, panel });
      });
    }
  });
  values.sort((a, b) => a.x - b.x);
  const panels = st.tracks.length ? [...panelSet].sort() : [''];
  const many = spec.ys.length > 1;
  const title = options.title ?? `${spec.ys.join(', ')} by ${x}`;
  const marks: Record<string, unknown>[] = [];
  const enc = {
    x: { field: 'x', type: 'quantitative', title: options.xTitle ?? x, scale: { zero: false } },
    y: { field: 'y', type: 'quantitative', title: options.yTitle ?? (many ? 'value' : spec.ys[0]), scale: { zero: false } },
    ...(many ? { color: { field: 'series', type: 'nominal', title: null } } : {}),
  };
  if (type !== 'p') marks.push({ mark: { type: 'line', strokeWidth: 1.5 }, encoding: { ...enc, detail: { field: 'series' }, order: { field: 'x', type: 'quantitative' } } });
  if (type !== 'l') marks.push({ mark: { type: 'point', filled: true, size: 24 }, encoding: enc });
  const nPanels = panels.length;
  const base = baseSpec(title, options.width ?? (nPanels > 1 ? 240 : 480), options.height ?? (nPanels > 1 ? 160 : 300));
  let vl: Record<string, unknown>;
  if (st.tracks.length) {
    const { width, height, ...rest } = base;
    vl = { ...rest, data: { values }, facet: { field: 'panel', type: 'nominal', title: null, sort: panels }, columns: options.panelColumns ?? Math.ceil(Math.sqrt(nPanels)), spec: { width, height, layer: marks } };
  } else vl = { ...base, data: { values }, layer: marks };
  const res = await renderVegaLite(vl, options);
  return { ...res, series: spec.ys, panels: st.tracks.length ? panels : [], points: values.length };
}
