/**
 * Model design for the linear-model family: a thin layer over the shared formula engine
 * (lib/formula createModelSpec / buildModelMatrix) adding what the fits need on top of
 * the model matrix: the weights column, the X-column bookkeeping (coefficient slots incl.
 * RevoScaleR's dropped reference levels), and the cube first-term levels.
 *
 * Coding and names come from lib/formula: the LAST level is the reference by default
 * (RevoScaleR), the FIRST with dropFirst: true (R's treatment contrasts); names are
 * RevoScaleR style (`Trt=placebo`) in `name` and R style (`Trtplacebo`) in `rName`.
 */
import type { Chunk, DataSource } from '../data/types.js';
import { sliceColumn } from '../data/memory.js';
import { RxError } from '../errors.js';
import { type GroupedMatrix, buildGroupedMatrix, buildModelMatrix } from '../formula/matrix.js';
import { type ModelSpec, createModelSpec } from '../formula/spec.js';

export interface DesignCoef {
  /** RevoScaleR-style name: `x`, `DayOfWeek=Monday`, `a=x, b=y`, `x for a=u`. */
  name: string;
  /** R-style name: `x`, `DayOfWeekMonday`, `ax:by`. */
  rName: string;
  /** Index of the term (-1 for the intercept). */
  term: number;
  /** Reference level of a contrast coding: no column in X. */
  dropped: boolean;
}

export interface DesignSpec {
  formula: string;
  responseLabel: string;
  /** The formula engine's spec (plain JSON). */
  model: ModelSpec;
  coefs: DesignCoef[];
  /** Indices into coefs of the X columns (non-dropped), in X order. */
  xCols: number[];
  termLabels: string[];
  intercept: boolean;
  /** Source columns the pass must read (weights included). */
  columns: string[];
  weightVar?: string;
  dropFirst: boolean;
  /** cube: true: the first term's factor (its X columns are 0..levels-1). */
  cube?: { name: string; levels: string[] };
}

export interface DesignOptions {
  dropFirst?: boolean;
  cube?: boolean;
  dropMain?: boolean;
  weights?: string;
  /** Treat the response as binary (rxLogit): it must be numeric 0/1, logical or a factor. */
  binaryResponse?: boolean;
}

/** Builds the design from a formula and a source (reads the data only when some factor's levels are unknown). */
export async function createDesign(formula: string, source: DataSource, opts: DesignOptions = {}): Promise<DesignSpec> {
  const schema = await source.schema();
  const mOpts: Parameters<typeof createModelSpec>[2] = { dropFirst: opts.dropFirst ?? false };
  if (opts.cube) mOpts.cube = true;
  if (opts.dropMain) mOpts.dropMain = true;
  const model = await createModelSpec(formula, source, mOpts);
  if (!model.response) throw new RxError('RX_FORMULA', `Invalid formula "${formula}": a model formula needs a response (e.g. "y ~ x")`, { text: formula });
  if (model.response.kind === 'factor' && !opts.binaryResponse)
    throw new RxError('RX_FORMULA', `Formula "${formula}": the response '${model.response.label}' is a factor; use rxLogit or rxGlm(family = 'binomial')`, { column: model.response.label });
  if (opts.binaryResponse && model.response.kind === 'factor' && (model.response.levels ?? []).length !== 2 && (model.response.levels ?? []).length > 1)
    throw new RxError('RX_MODEL', `The response '${model.response.label}' has ${model.response.levels!.length} levels; a logistic model needs 2`, { column: model.response.label });
  const coefs: DesignCoef[] = model.columns.map((c) => ({ name: c.name, rName: c.rName, term: c.term, dropped: c.dropped }));
  const xCols = coefs.map((c, i) => (c.dropped ? -1 : i)).filter((i) => i >= 0);
  if (xCols.length === 0) throw new RxError('RX_FORMULA', `Invalid formula "${formula}": the model has no terms`, { text: formula });
  const columns = [...model.sourceColumns];
  const spec: DesignSpec = {
    formula,
    responseLabel: model.response.label,
    model,
    coefs,
    xCols,
    termLabels: model.terms.map((t) => t.label),
    intercept: model.intercept,
    columns,
    dropFirst: opts.dropFirst ?? false,
  };
  if (opts.weights !== undefined) {
    if (!schema.columns.some((c) => c.name === opts.weights)) throw new RxError('RX_ARG', `Unknown weights variable '${opts.weights}'`, { column: opts.weights });
    if (!columns.includes(opts.weights)) columns.push(opts.weights);
    spec.weightVar = opts.weights;
  }
  if (model.cube) {
    const v = model.variables[model.terms[0]!.vars[0]!]!;
    spec.cube = { name: v.name, levels: v.levels!.slice() };
  }
  return spec;
}

export interface DesignChunk {
  /** Complete rows used. */
  n: number;
  p: number;
  /** n x p column-major. */
  X: Float64Array;
  y: Float64Array;
  w: Float64Array | null;
  offset: Float64Array | null;
  /** Chunk row index of each used row. */
  rowIndex: Int32Array;
  /** Rows dropped because a needed value was missing / non-finite. */
  nMissing: number;
}

function weightValues(spec: DesignSpec, chunk: Chunk): Float64Array {
  const name = spec.weightVar!;
  const c = chunk.columns[name];
  if (!c) throw new RxError('RX_SCHEMA', `Weights variable '${name}' is not in the data`, { column: name });
  if (c.type === 'string' || c.type === 'factor') throw new RxError('RX_SCHEMA', `Expected a numeric weights variable but '${name}' is ${c.type}`, { column: name });
  const n = chunk.numRows;
  const out = new Float64Array(n);
  const d = c.data as ArrayLike<number>;
  for (let i = 0; i < n; i++) out[i] = c.valid && c.valid[i] === 0 ? Number.NaN : Number(d[i]!);
  return out;
}

/**
 * X, y, weights and offset over the complete rows of a chunk (rows with a missing or
 * non-finite value in any used variable, or a missing weight, are dropped and counted).
 * `needY: false` (prediction) builds no response; `checkLevels` (default true) raises on
 * factor levels the model did not see, false treats those rows as missing.
 */
export function buildDesign(spec: DesignSpec, chunk: Chunk, opts: { needY?: boolean; checkLevels?: boolean; scratch?: { X?: Float64Array } } = {}): DesignChunk {
  const needY = opts.needY ?? true;
  const bo: Parameters<typeof buildModelMatrix>[2] = { checkFactorLevels: opts.checkLevels ?? true, response: needY };
  if (opts.scratch) bo.scratch = opts.scratch;
  const mm = buildModelMatrix(spec.model, chunk, bo);
  let { n, X, y, offset, rowIndex } = mm;
  const p = mm.p;
  let w: Float64Array | null = null;
  if (spec.weightVar) {
    const w0 = weightValues(spec, chunk);
    let bad = 0;
    for (let k = 0; k < n; k++) if (!Number.isFinite(w0[rowIndex[k]!]!)) bad++;
    if (bad > 0) {
      // compact the rows with a missing weight away
      const m = n - bad;
      const keep = new Int32Array(m);
      for (let k = 0, j = 0; k < n; k++) if (Number.isFinite(w0[rowIndex[k]!]!)) keep[j++] = k;
      const X2 = new Float64Array(m * p);
      for (let c = 0; c < p; c++) for (let j = 0; j < m; j++) X2[c * m + j] = X[c * n + keep[j]!]!;
      const pick = (a: Float64Array | null) => (a ? Float64Array.from(keep, (k) => a[k]!) : null);
      X = X2;
      y = pick(y);
      offset = pick(offset);
      rowIndex = Int32Array.from(keep, (k) => rowIndex[k]!);
      n = m;
    }
    w = Float64Array.from(rowIndex, (i) => w0[i]!);
  }
  return { n, p, X, y: y ?? new Float64Array(0), w, offset, rowIndex, nMissing: chunk.numRows - n };
}

/**
 * Bytes of X per design block: a chunk is turned into model-matrix blocks of about this
 * size (rows = BLOCK_BYTES / 8p), built into one reused buffer, so X stays in cache
 * between being built and being consumed by the native kernel, and no chunk-sized X is
 * ever allocated (fresh memory costs a page fault per 4 KiB).
 */
export const DESIGN_BLOCK_BYTES = 4 << 20;

/** Rows per design block for p columns. */
export function designBlockRows(p: number): number {
  return Math.max(1024, Math.floor(DESIGN_BLOCK_BYTES / (8 * Math.max(1, p))));
}

const blockScratch: { X?: Float64Array } = {};

/** Rows [b, e) of the chunk's columns `names` (views; no copies of typed arrays). */
function sliceChunk(chunk: Chunk, names: string[], b: number, e: number): Chunk {
  const columns: Chunk['columns'] = {};
  for (const n of names) {
    const c = chunk.columns[n];
    if (c) columns[n] = sliceColumn(c, b, e);
  }
  return { numRows: e - b, startRow: chunk.startRow + b, names: Object.keys(columns), columns };
}

/**
 * Builds the design of a chunk block by block and calls `fn` on each block. The block's
 * X lives in a buffer shared by all calls (valid only until `fn` returns: copy it to keep
 * it), unless `store` (at least numRows x p values) is given: then the blocks' X are
 * consecutive views of it; y, w and offset are fresh arrays. Row indices (and startRow) are per block.
 */
export function forEachDesignBlock(spec: DesignSpec, chunk: Chunk, fn: (d: DesignChunk, block: Chunk) => void, opts: { store?: Float64Array } = {}): void {
  const n = chunk.numRows;
  const p = spec.xCols.length;
  const step = designBlockRows(p);
  // store: the blocks' X are consecutive views of it (the caller keeps them)
  const store = opts.store && opts.store.length >= n * p ? opts.store : undefined;
  const bo = (b: number) => ({ scratch: store ? { X: store.subarray(b * p) } : blockScratch });
  if (n <= step) {
    fn(buildDesign(spec, chunk, bo(0)), chunk);
    return;
  }
  for (let b = 0; b < n; b += step) {
    const block = sliceChunk(chunk, spec.columns, b, Math.min(n, b + step));
    fn(buildDesign(spec, block, bo(b)), block);
  }
}

/** A chunk's design with factor terms as one-hot groups (see buildGroupedMatrix). */
export interface GroupedDesign extends GroupedMatrix {
  w: Float64Array | null;
}

/** Largest model (X columns) for which the grouped cross-product path is used. */
export const GROUPED_MAX_P = 4096;

/** Whether the grouped path helps: some term has a factor and X'X fits the kernel. */
export function useGrouped(spec: DesignSpec): boolean {
  const m = spec.model;
  return spec.xCols.length <= GROUPED_MAX_P && m.terms.some((t) => t.vars.some((v) => m.variables[v]!.kind === 'factor'));
}

const groupedScratch: { D?: Float64Array; G?: Int32Array; V?: Float64Array; Y?: Float64Array; P?: Float64Array } = {};

/**
 * Builds the design of a chunk block by block in grouped form (arrays valid only until `fn`
 * returns) and calls `grouped` on each block; a block with a missing weight in a complete
 * row goes to `dense` as buildDesign builds it (the row is dropped there).
 */
export function forEachGroupedBlock(spec: DesignSpec, chunk: Chunk, grouped: (g: GroupedDesign) => void, dense: (d: DesignChunk) => void): void {
  const n = chunk.numRows;
  const m = spec.model;
  const ng = m.terms.filter((t) => t.vars.some((v) => m.variables[v]!.kind === 'factor')).length;
  const step = designBlockRows(spec.xCols.length - ng + ng);
  for (let b = 0; b < n; b += step) {
    const block = n <= step ? chunk : sliceChunk(chunk, spec.columns, b, Math.min(n, b + step));
    const g = buildGroupedMatrix(spec.model, block, { checkFactorLevels: true, response: true, scratch: groupedScratch });
    let w: Float64Array | null = null;
    if (spec.weightVar) {
      const w0 = weightValues(spec, block);
      w = new Float64Array(g.n);
      let bad = false;
      for (let k = 0; k < g.n; k++) {
        const v = w0[g.rowIndex[k]!]!;
        if (!Number.isFinite(v)) bad = true;
        w[k] = v;
      }
      if (bad) {
        dense(buildDesign(spec, block, { scratch: blockScratch }));
        continue;
      }
    }
    grouped({ ...g, w });
  }
}

/**
 * The source as seen by a pass that consumes each chunk before asking for the next and
 * keeps none of its arrays (the in-process context): asks the source to reuse its read
 * buffers (ChunkOptions.reuseBuffers).
 */
export function transientChunkSource(source: DataSource): DataSource {
  const out: DataSource = {
    kind: source.kind,
    schema: () => source.schema(),
    chunks: (opts = {}) => source.chunks({ ...opts, reuseBuffers: true }),
  };
  if (source.numRows) out.numRows = () => source.numRows!();
  if (source.describe) out.describe = () => source.describe!();
  return out;
}

/** Response values of every row of a chunk (NaN where missing), for residuals at predict time. */
export function responseValues(spec: DesignSpec, chunk: Chunk): Float64Array {
  const only: ModelSpec = { ...spec.model, variables: [], terms: [], columns: [], coefNames: [], rNames: [], p: 0, intercept: false, offsets: [] };
  const mm = buildModelMatrix(only, chunk, { response: true, checkFactorLevels: false });
  const out = new Float64Array(chunk.numRows).fill(Number.NaN);
  for (let k = 0; k < mm.n; k++) out[mm.rowIndex[k]!] = mm.y![k]!;
  return out;
}

/** Whether a schema has every source column the response needs. */
export function hasResponseColumns(spec: DesignSpec, names: string[]): boolean {
  const have = new Set(names);
  const walk = (e: unknown): boolean => {
    const x = e as { type: string; name?: string; arg?: unknown; left?: unknown; right?: unknown; args?: Array<{ value: unknown }> };
    if (x.type === 'name') return have.has(x.name!) || (spec.model.objects !== undefined && Object.hasOwn(spec.model.objects, x.name!));
    if (x.type === 'paren' || x.type === 'unary') return walk(x.arg);
    if (x.type === 'binary') return walk(x.left) && walk(x.right);
    if (x.type === 'call') return (x.args ?? []).every((a) => walk(a.value));
    return true;
  };
  return spec.model.response ? walk(spec.model.response.expr) : false;
}
