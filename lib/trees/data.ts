/**
 * Data preparation for the tree engine: the formula is resolved by lib/formula
 * (createModelSpec: `.`, `-`, F(), transforms such as log(x), factor levels) and its
 * response and raw predictors (no dummy coding: buildPredictorColumns) are read chunk by
 * chunk. Pass 1 feeds a mergeable bin sketch per numeric predictor (the k
 * distinct values with the smallest hash, with exact counts: order independent, so the
 * bins do not depend on chunk size) and collects the response and weights; pass 2 fills
 * a column-major binned matrix (uint8 when every feature has <= 256 bins, else uint16).
 * Every feature has value bins 0..V-1 plus one missing bin V.
 */
import { resolveSource } from '../data/resolve.js';
import type { Chunk, Column, DataSource } from '../data/types.js';
import { RxError } from '../errors.js';
import type { ExprNode } from '../expr/ast.js';
import { evalExpr, exprColumns } from '../expr/eval.js';
import { buildPredictorColumns, createModelSpec, modelVariables } from '../formula/index.js';
import { type BinnedDataNative, treeNative } from '../native/tree.js';

export interface FeatureInfo {
  /** R's label of the predictor (the column name, or e.g. `log(x)`, `F(age)`) */
  name: string;
  type: 'numeric' | 'factor';
  /** the predictor's expression when it is not a plain column (transforms, F()) */
  expr?: ExprNode;
  /** F(x): the level of code 0 (codes are floor(x) - low) */
  fLow?: number;
  levels?: string[];
  /** per value bin: smallest / largest value (factor: the code) */
  lo: number[];
  hi: number[];
}

export interface ResponseInfo {
  name: string;
  type: 'numeric' | 'factor';
  levels?: string[];
}

export interface PreparedData {
  n: number;
  data: BinnedDataNative;
  features: FeatureInfo[];
  response: ResponseInfo;
  y: Float64Array;
  w: Float64Array;
  /** rows dropped because the response was missing */
  droppedMissingY: number;
}

export interface PrepareOptions {
  maxBins: number;
  weights?: string;
  rowsPerRead?: number;
  /** response must be a factor (classification) / numeric; undefined: either */
  responseKind?: 'factor' | 'numeric';
  /** sketch size (distinct values kept per predictor) */
  sketchSize?: number;
}

const isNumericType = (t: string) => ['float64', 'float32', 'int32', 'int16', 'uint8', 'bool', 'date', 'timestamp'].includes(t);

function toF64(col: Column, n: number): { x: Float64Array; valid?: Uint8Array } {
  const d = col.data;
  let x: Float64Array;
  if (d instanceof Float64Array) x = d;
  else if (Array.isArray(d)) throw new RxError('RX_SCHEMA', 'string columns cannot be used as tree predictors; convert them to factors');
  else {
    x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = (d as Int32Array)[i]!;
  }
  return col.valid ? { x, valid: col.valid } : { x };
}

function growF64(a: Float64Array, need: number): Float64Array {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2, 1024));
  b.set(a);
  return b;
}

export async function prepareTreeData(formula: string, data: unknown, opts: PrepareOptions): Promise<PreparedData> {
  const src: DataSource = resolveSource(data);
  const schema = await src.schema();
  const names = schema.columns.map((c) => c.name);
  if (typeof formula !== 'string') throw new RxError('RX_ARG', `Expected a formula string for formula but received ${typeof formula}`);
  const spec = await createModelSpec(formula, src);
  if (!spec.response) throw new RxError('RX_FORMULA', `Formula "${formula}" needs a response (y ~ x1 + x2)`, { text: formula });
  const mv = modelVariables(spec);
  const preds = mv.predictors;
  if (preds.length === 0) throw new RxError('RX_FORMULA', `Formula "${formula}" has no predictors`, { text: formula });
  const resp = spec.response;
  const respName = resp.label;
  if (opts.weights !== undefined && !names.includes(opts.weights))
    throw new RxError('RX_ARG', `weights column "${opts.weights}" is not in the data`, { column: opts.weights });
  const cols = [...new Set([...spec.sourceColumns, ...(opts.weights ? [opts.weights] : [])])];
  const native = treeNative();
  const k = opts.sketchSize ?? 16384;
  const p = preds.length;
  const ptype: ('numeric' | 'factor')[] = preds.map((v) => v.type);
  const respKind: 'factor' | 'numeric' = resp.kind === 'factor' ? 'factor' : 'numeric';
  const respLevels = resp.levels;
  const respIndex = respLevels ? new Map(respLevels.map((l, i) => [l, i])) : undefined;
  const env = { objects: spec.objects ?? {} };
  // the response of a chunk as numbers (factor: codes of resp.levels; NaN missing)
  const responseOf = (chunk: Chunk): { x: Float64Array; valid?: Uint8Array } => {
    const c = evalExpr(resp.expr, chunk, env);
    const m = chunk.numRows;
    if (respKind === 'factor') {
      const out = new Float64Array(m);
      if (c.type === 'factor') {
        const map = (c.levels ?? []).map((l) => respIndex!.get(l) ?? Number.NaN);
        const codes = c.data as Int32Array;
        for (let i = 0; i < m; i++) out[i] = c.valid && c.valid[i] === 0 ? Number.NaN : map[codes[i]!]!;
      } else if (Array.isArray(c.data)) {
        const d = c.data as Array<string | null>;
        for (let i = 0; i < m; i++) out[i] = d[i] === null ? Number.NaN : (respIndex!.get(String(d[i])) ?? Number.NaN);
      } else {
        const { x, valid } = toF64(c, m);
        for (let i = 0; i < m; i++) out[i] = valid && valid[i] === 0 ? Number.NaN : (respIndex!.get(String(x[i])) ?? Number.NaN);
      }
      return { x: out };
    }
    if (Array.isArray(c.data)) throw new RxError('RX_SCHEMA', `Response "${respName}" is a string column; make it a factor`, { column: respName });
    return toF64(c, m);
  };
  type SketchState = { values: Float64Array; counts: Float64Array; missing: number; full: boolean };
  const sketches: SketchState[] = preds.map(() => ({ values: new Float64Array(0), counts: new Float64Array(0), missing: 0, full: false }));
  let y: Float64Array = new Float64Array(0);
  let w: Float64Array = new Float64Array(0);
  let n = 0;
  const chunkOpts = { columns: cols, ...(opts.rowsPerRead ? { rowsPerRead: opts.rowsPerRead } : {}) };
  // ---- pass 1 ----
  for await (const chunk of src.chunks(chunkOpts)) {
    const m = chunk.numRows;
    y = growF64(y, n + m);
    w = growF64(w, n + m);
    const ry = responseOf(chunk);
    const wc = opts.weights ? toF64(chunk.columns[opts.weights]!, m) : undefined;
    for (let i = 0; i < m; i++) {
      const miss = (ry.valid && ry.valid[i] === 0) || Number.isNaN(ry.x[i]!);
      let wi = wc ? wc.x[i]! : 1;
      if (wc && ((wc.valid && wc.valid[i] === 0) || !Number.isFinite(wi) || wi < 0))
        throw new RxError('RX_ARG', `weights must be finite and >= 0 (row ${chunk.startRow + i + 1})`, { column: opts.weights, row: chunk.startRow + i + 1 });
      if (miss) {
        y[n + i] = 0;
        wi = 0;
      } else {
        const v = ry.x[i]!;
        if (!Number.isFinite(v))
          throw new RxError('RX_ARG', `Response "${respName}" has a non-finite value (row ${chunk.startRow + i + 1})`, {
            column: respName,
            row: chunk.startRow + i + 1,
          });
        y[n + i] = v;
      }
      w[n + i] = wi;
    }
    let zeroW = 0;
    for (let i = 0; i < m; i++) if (w[n + i] === 0) zeroW++;
    const pc = buildPredictorColumns(spec, chunk, { response: false });
    // numeric predictors of the chunk (NaN = missing); rows without weight (or response)
    // take no part in the bins
    const idx: number[] = [];
    let xs: Float64Array[] = [];
    for (let j = 0; j < p; j++) {
      if (ptype[j] === 'factor') continue;
      let x = pc.columns[j] as Float64Array;
      if (zeroW > 0) {
        const fx = new Float64Array(m - zeroW);
        for (let i = 0, r = 0; i < m; i++) if (w[n + i] !== 0) fx[r++] = x[i]!;
        x = fx;
      }
      idx.push(j);
      xs.push(x);
    }
    if (idx.length > 0) {
      // one column per thread; an empty sketch admits every value, so a first slice sets the
      // admission threshold (the k-th smallest hash) before the rest (the sketch is order independent)
      let states = idx.map((j) => sketches[j]!);
      const first = states.every((s) => s.values.length === 0 && !s.full) && xs[0]!.length > 8 * k ? 4 * k : 0;
      if (first > 0) {
        states = native.treeSketchAddMany(
          xs.map((x) => x.subarray(0, first)),
          states,
          k,
        );
        xs = xs.map((x) => x.subarray(first));
      }
      states = native.treeSketchAddMany(xs, states, k);
      idx.forEach((j, q) => {
        sketches[j] = states[q]!;
      });
    }
    n += m;
  }
  if (n === 0) throw new RxError('RX_ARG', 'the data has no rows');
  y = y.subarray(0, n);
  w = w.subarray(0, n);
  let dropped = 0;
  for (let i = 0; i < n; i++) if (w[i] === 0) dropped++;
  // ---- bins ----
  const features: FeatureInfo[] = [];
  const nbins = new Int32Array(p);
  const categorical = new Uint8Array(p);
  const los: number[] = [];
  const his: number[] = [];
  for (let j = 0; j < p; j++) {
    const nm = preds[j]!.label;
    const pv = preds[j]!;
    const vs = spec.variables.find((v) => v.label === pv.label);
    const extra: Partial<FeatureInfo> = {};
    if (pv.expr.type !== 'name') extra.expr = pv.expr;
    if (vs?.fRange) extra.fLow = vs.fRange.low;
    let lo: number[];
    let hi: number[];
    if (ptype[j] === 'factor') {
      const L = pv.levels?.length ?? 0;
      if (L > 65534) throw new RxError('RX_ARG', `Factor "${nm}" has ${L} levels; at most 65534 are supported`, { column: nm });
      lo = Array.from({ length: L }, (_, i) => i);
      hi = lo.slice();
      categorical[j] = 1;
      features.push({ name: nm, type: 'factor', levels: pv.levels ?? [], lo, hi, ...extra });
    } else {
      const s = sketches[j]!;
      const b = native.treeSketchBins(s.values, s.counts, opts.maxBins);
      lo = Array.from(b.lo);
      hi = Array.from(b.hi);
      features.push({ name: nm, type: 'numeric', lo, hi, ...extra });
    }
    nbins[j] = lo.length + 1;
    los.push(...lo, Number.NaN);
    his.push(...hi, Number.NaN);
  }
  const binOff = new Int32Array(p);
  for (let j = 1; j < p; j++) binOff[j] = binOff[j - 1]! + nbins[j - 1]!;
  const wide = nbins.some((b) => b > 256);
  const binned = wide ? new Uint16Array(n * p) : new Uint8Array(n * p);
  const loArr = Float64Array.from(los);
  const hiArr = Float64Array.from(his);
  // ---- pass 2 ----
  let row = 0;
  for await (const chunk of src.chunks(chunkOpts)) {
    const m = chunk.numRows;
    if (row + m > n) throw new RxError('RX_DATA_SOURCE', 'the data source returned more rows on the second pass than on the first');
    const pc = buildPredictorColumns(spec, chunk, { response: false });
    for (let j = 0; j < p; j++) {
      const base = j * n + row;
      if (ptype[j] === 'factor') {
        const codes = pc.columns[j] as Int32Array;
        const V = nbins[j]! - 1;
        for (let i = 0; i < m; i++) binned[base + i] = codes[i]! < 0 ? V : codes[i]!;
      } else {
        native.treeBinNumeric(pc.columns[j] as Float64Array, undefined, loArr.subarray(binOff[j]!, binOff[j]! + nbins[j]! - 1), hiArr.subarray(binOff[j]!, binOff[j]! + nbins[j]! - 1), binned, base);
      }
    }
    row += m;
  }
  if (row !== n) throw new RxError('RX_DATA_SOURCE', 'the data source returned fewer rows on the second pass than on the first');
  const response: ResponseInfo = respKind === 'factor' ? { name: respName, type: 'factor', levels: respLevels ?? [] } : { name: respName, type: 'numeric' };
  return { n, data: { binned, n, p, nbins, categorical, lo: loArr, hi: hiArr }, features, response, y, w, droppedMissingY: dropped };
}

/** Reads predictors of new data into a column-major Float64Array (factor codes mapped to training levels). */
export async function readPredictors(
  data: unknown,
  features: FeatureInfo[],
  extra: string[] = [],
): Promise<{ x: Float64Array; n: number; extraCols: Record<string, Column[]> }> {
  const src = resolveSource(data, 'data');
  const schema = await src.schema();
  const names = schema.columns.map((c) => c.name);
  const need = features.flatMap((f) => (f.expr ? exprColumns(f.expr) : [f.name]));
  for (const c of need) if (!names.includes(c)) throw new RxError('RX_SCHEMA', `Predictor "${c}" is not in the data`, { column: c });
  const ex = extra.filter((e) => names.includes(e));
  const chunks: Chunk[] = [];
  for await (const c of src.chunks({ columns: [...new Set([...need, ...ex])] })) chunks.push(c);
  const n = chunks.reduce((a, c) => a + c.numRows, 0);
  const p = features.length;
  const x = new Float64Array(n * p);
  const extraCols: Record<string, Column[]> = {};
  for (const e of ex) extraCols[e] = [];
  let row = 0;
  for (const chunk of chunks) {
    const m = chunk.numRows;
    for (let j = 0; j < p; j++) {
      const fe = features[j]!;
      const base = j * n + row;
      if (fe.expr && fe.fLow !== undefined) {
        // F(x): code floor(x) - low within the training levels
        const call = fe.expr as Extract<ExprNode, { type: 'call' }>;
        const arg = (call.args.find((a) => a.name === 'x') ?? call.args.find((a) => a.name === undefined))!.value;
        const { x: v, valid } = toF64(evalExpr(arg, chunk), m);
        const L = fe.levels?.length ?? 0;
        for (let i = 0; i < m; i++) {
          const code = Math.floor(v[i]!) - fe.fLow;
          x[base + i] = (valid && valid[i] === 0) || !(code >= 0 && code < L) ? Number.NaN : code;
        }
        continue;
      }
      const c = fe.expr ? evalExpr(fe.expr, chunk) : chunk.columns[fe.name]!;
      if (fe.type === 'factor') {
        if (c.type !== 'factor' && c.type !== 'string')
          throw new RxError('RX_SCHEMA', `Predictor "${fe.name}" was a factor in training but is ${c.type} here`, { column: fe.name });
        const map = new Map((fe.levels ?? []).map((l, i) => [l, i]));
        if (c.type === 'factor') {
          const lv = (c.levels ?? []).map((l) => map.get(l) ?? Number.NaN);
          const codes = c.data as Int32Array;
          for (let i = 0; i < m; i++) x[base + i] = c.valid && c.valid[i] === 0 ? Number.NaN : lv[codes[i]!]!;
        } else {
          const s = c.data as Array<string | null>;
          for (let i = 0; i < m; i++) x[base + i] = s[i] === null ? Number.NaN : (map.get(s[i]!) ?? Number.NaN);
        }
      } else {
        if (!isNumericType(c.type))
          throw new RxError('RX_SCHEMA', `Predictor "${fe.name}" was numeric in training but is ${c.type} here`, { column: fe.name });
        const { x: v, valid } = toF64(c, m);
        for (let i = 0; i < m; i++) x[base + i] = valid && valid[i] === 0 ? Number.NaN : v[i]!;
      }
    }
    for (const e of ex) extraCols[e]!.push(chunk.columns[e]!);
    row += m;
  }
  return { x, n, extraCols };
}
