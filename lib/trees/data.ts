/**
 * Data preparation for the tree engine: a formula's response and raw predictors are read
 * chunk by chunk. Pass 1 feeds a mergeable bin sketch per numeric predictor (the k
 * distinct values with the smallest hash, with exact counts: order independent, so the
 * bins do not depend on chunk size) and collects the response and weights; pass 2 fills
 * a column-major binned matrix (uint8 when every feature has <= 256 bins, else uint16).
 * Every feature has value bins 0..V-1 plus one missing bin V.
 */
import { resolveSource } from '../data/resolve.js';
import type { Chunk, Column, ColumnInfo, DataSource, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import { type BinnedDataNative, treeNative } from '../native/tree.js';

export interface TreeFormula {
  response: string;
  predictors: string[];
}

const NAME = /^\s*([A-Za-z.][A-Za-z0-9._]*|`[^`]+`)\s*$/;
function unquote(s: string): string {
  const t = s.trim();
  return t.startsWith('`') ? t.slice(1, -1) : t;
}

/** Parses `y ~ a + b`, `y ~ .`, `y ~ . - c` (trees use raw variables: no interactions). */
export function parseTreeFormula(formula: string, names: string[]): TreeFormula {
  if (typeof formula !== 'string') throw new RxError('RX_ARG', `Expected a formula string for formula but received ${typeof formula}`);
  const parts = formula.split('~');
  if (parts.length !== 2) throw new RxError('RX_FORMULA', `Formula must have the form "y ~ x1 + x2": ${formula}`, { text: formula });
  const lhs = parts[0]!.trim();
  if (!NAME.test(lhs)) throw new RxError('RX_FORMULA', `Unsupported response "${lhs}" in formula "${formula}"`, { text: lhs });
  const response = unquote(lhs);
  const rhs = parts[1]!;
  const include: string[] = [];
  const exclude = new Set<string>();
  let all = false;
  // split on + and - at top level
  const tokens = rhs.match(/[+-]?\s*(`[^`]+`|[^+-]+)/g) ?? [];
  for (const raw of tokens) {
    let tok = raw.trim();
    let neg = false;
    if (tok.startsWith('+')) tok = tok.slice(1).trim();
    else if (tok.startsWith('-')) {
      neg = true;
      tok = tok.slice(1).trim();
    }
    if (tok === '' ) continue;
    if (tok === '.') {
      if (neg) throw new RxError('RX_FORMULA', `"- ." is not allowed in "${formula}"`, { text: formula });
      all = true;
      continue;
    }
    if (tok === '1' || tok === '0') continue;
    if (!NAME.test(tok))
      throw new RxError('RX_FORMULA', `Tree formulas take plain variable names; cannot use "${tok}" in "${formula}"`, { text: tok });
    const nm = unquote(tok);
    if (neg) exclude.add(nm);
    else include.push(nm);
  }
  let predictors = all ? names.filter((n) => n !== response) : [];
  for (const p of include) if (!predictors.includes(p)) predictors.push(p);
  predictors = predictors.filter((p) => !exclude.has(p) && p !== response);
  for (const p of [response, ...predictors])
    if (!names.includes(p)) throw new RxError('RX_FORMULA', `Variable "${p}" in formula "${formula}" is not in the data`, { column: p, text: formula });
  if (predictors.length === 0) throw new RxError('RX_FORMULA', `Formula "${formula}" has no predictors`, { text: formula });
  return { response, predictors };
}

export interface FeatureInfo {
  name: string;
  type: 'numeric' | 'factor';
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
  const schema: Schema = await src.schema();
  const names = schema.columns.map((c) => c.name);
  const f = parseTreeFormula(formula, names);
  const info = new Map<string, ColumnInfo>(schema.columns.map((c) => [c.name, c]));
  if (opts.weights !== undefined && !names.includes(opts.weights))
    throw new RxError('RX_ARG', `weights column "${opts.weights}" is not in the data`, { column: opts.weights });
  const cols = [f.response, ...f.predictors, ...(opts.weights ? [opts.weights] : [])];
  const native = treeNative();
  const k = opts.sketchSize ?? 16384;
  const p = f.predictors.length;
  const ptype: ('numeric' | 'factor')[] = f.predictors.map((nm) => {
    const t = info.get(nm)!.type;
    if (t === 'factor') return 'factor';
    if (isNumericType(t)) return 'numeric';
    throw new RxError('RX_SCHEMA', `Predictor "${nm}" has type ${t}; trees take numeric or factor predictors`, { column: nm });
  });
  const rtype = info.get(f.response)!.type;
  const respKind: 'factor' | 'numeric' = rtype === 'factor' || rtype === 'string' || rtype === 'bool' ? (rtype === 'bool' ? 'numeric' : 'factor') : 'numeric';
  if (rtype === 'string') throw new RxError('RX_SCHEMA', `Response "${f.response}" is a string column; make it a factor`, { column: f.response });
  if (opts.responseKind === 'factor' && respKind !== 'factor' && rtype !== 'bool' && !(isNumericType(rtype)))
    throw new RxError('RX_SCHEMA', `Response "${f.response}" must be a factor`, { column: f.response });
  type SketchState = { values: Float64Array; counts: Float64Array; missing: number; full: boolean };
  const sketches: SketchState[] = f.predictors.map(() => ({ values: new Float64Array(0), counts: new Float64Array(0), missing: 0, full: false }));
  const factorLevels: (string[] | undefined)[] = f.predictors.map((nm) => info.get(nm)!.levels);
  let y: Float64Array = new Float64Array(0);
  let w: Float64Array = new Float64Array(0);
  let respLevels = info.get(f.response)!.levels;
  let n = 0;
  const chunkOpts = { columns: cols, ...(opts.rowsPerRead ? { rowsPerRead: opts.rowsPerRead } : {}) };
  // ---- pass 1 ----
  for await (const chunk of src.chunks(chunkOpts)) {
    const m = chunk.numRows;
    y = growF64(y, n + m);
    w = growF64(w, n + m);
    const rc = chunk.columns[f.response]!;
    if (rc.type === 'factor') respLevels = rc.levels ?? respLevels;
    const ry = toF64(rc, m);
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
          throw new RxError('RX_ARG', `Response "${f.response}" has a non-finite value (row ${chunk.startRow + i + 1})`, {
            column: f.response,
            row: chunk.startRow + i + 1,
          });
        y[n + i] = v;
      }
      w[n + i] = wi;
    }
    let zeroW = 0;
    for (let i = 0; i < m; i++) if (w[n + i] === 0) zeroW++;
    for (let j = 0; j < p; j++) {
      const nm = f.predictors[j]!;
      const c = chunk.columns[nm]!;
      if (ptype[j] === 'factor') {
        factorLevels[j] = c.levels ?? factorLevels[j];
        continue;
      }
      let { x, valid } = toF64(c, m);
      if (zeroW > 0) {
        // rows without weight (or response) take no part in the bins either
        const keep = m - zeroW;
        const fx = new Float64Array(keep);
        const fv = valid ? new Uint8Array(keep) : undefined;
        for (let i = 0, r = 0; i < m; i++) {
          if (w[n + i] === 0) continue;
          fx[r] = x[i]!;
          if (fv) fv[r] = valid![i]!;
          r++;
        }
        x = fx;
        valid = fv;
      }
      const s = sketches[j]!;
      sketches[j] = native.treeSketchAdd(x, valid, s.values, s.counts, s.missing, s.full, k);
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
    const nm = f.predictors[j]!;
    let lo: number[];
    let hi: number[];
    if (ptype[j] === 'factor') {
      const L = factorLevels[j]?.length ?? 0;
      if (L > 65534) throw new RxError('RX_ARG', `Factor "${nm}" has ${L} levels; at most 65534 are supported`, { column: nm });
      lo = Array.from({ length: L }, (_, i) => i);
      hi = lo.slice();
      categorical[j] = 1;
      features.push({ name: nm, type: 'factor', levels: factorLevels[j] ?? [], lo, hi });
    } else {
      const s = sketches[j]!;
      const b = native.treeSketchBins(s.values, s.counts, opts.maxBins);
      lo = Array.from(b.lo);
      hi = Array.from(b.hi);
      features.push({ name: nm, type: 'numeric', lo, hi });
    }
    nbins[j] = lo.length + 1;
    los.push(...lo, Number.NaN);
    his.push(...hi, Number.NaN);
  }
  const wide = nbins.some((b) => b > 256);
  const binned = wide ? new Uint16Array(n * p) : new Uint8Array(n * p);
  const loArr = Float64Array.from(los);
  const hiArr = Float64Array.from(his);
  // ---- pass 2 ----
  let row = 0;
  for await (const chunk of src.chunks(chunkOpts)) {
    const m = chunk.numRows;
    if (row + m > n) throw new RxError('RX_DATA_SOURCE', 'the data source returned more rows on the second pass than on the first');
    for (let j = 0; j < p; j++) {
      const c = chunk.columns[f.predictors[j]!]!;
      const base = j * n + row;
      if (ptype[j] === 'factor') {
        const codes = c.data as Int32Array;
        const V = nbins[j]! - 1;
        for (let i = 0; i < m; i++) binned[base + i] = c.valid && c.valid[i] === 0 ? V : codes[i]!;
      } else {
        const { x, valid } = toF64(c, m);
        const fe = features[j]!;
        native.treeBinNumeric(x, valid, Float64Array.from(fe.lo), Float64Array.from(fe.hi), binned, base);
      }
    }
    row += m;
  }
  if (row !== n) throw new RxError('RX_DATA_SOURCE', 'the data source returned fewer rows on the second pass than on the first');
  const response: ResponseInfo =
    respKind === 'factor' ? { name: f.response, type: 'factor', levels: respLevels ?? [] } : { name: f.response, type: 'numeric' };
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
  for (const f of features)
    if (!names.includes(f.name)) throw new RxError('RX_SCHEMA', `Predictor "${f.name}" is not in the data`, { column: f.name });
  const ex = extra.filter((e) => names.includes(e));
  const chunks: Chunk[] = [];
  for await (const c of src.chunks({ columns: [...new Set([...features.map((f) => f.name), ...ex])] })) chunks.push(c);
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
      const c = chunk.columns[fe.name]!;
      const base = j * n + row;
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
