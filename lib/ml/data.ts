/**
 * Data for the MicrosoftML learners: the formula goes through the shared formula engine
 * (lib/formula createModelSpec, lib/models/design.ts buildDesign), the label is coded for
 * the task, and the model matrix is kept in memory (row-major) while it fits the budget
 * (`cacheBytes`); beyond it, learners that only need full passes (L-BFGS) re-read the
 * source chunk by chunk on every pass.
 *
 * Normalisation follows MicrosoftML's MinMax normaliser with fixZero (the default of
 * `normalize = 'auto'` for learners that need it): every non-intercept column is scaled by
 * 1 / max|x| (zeros stay zero, so one-hot columns are unchanged). Learners fit in the scaled
 * space and fold the scales back into the weights, so models predict from raw values.
 */
import { resolveSource } from '../data/resolve.js';
import type { Chunk, DataSource } from '../data/types.js';
import { RxError } from '../errors.js';
import { type TransformOptions, withTransforms } from '../expr/source.js';
import { createModelSpec } from '../formula/spec.js';
import { type DesignCoef, type DesignSpec, buildDesign } from '../models/design.js';

export type MlTask = 'binary' | 'multiClass' | 'regression' | 'anomaly';
export type NormalizeMode = 'auto' | 'no' | 'yes' | 'warn';

export interface MlDesign {
  spec: DesignSpec;
  task: MlTask;
  /** Class labels (binary, multiClass): factor levels, or the distinct numeric labels as strings. */
  classes: string[] | null;
  /** Whether the label came from a factor (PredictedLabel is a string) or a number / logical. */
  labelKind: 'factor' | 'numeric' | 'none';
  /** X column (in DesignChunk order) of the intercept, -1 without one. */
  interceptCol: number;
}

/** Rows of the model matrix, row-major, with the coded label (class index, 0/1, or the value). */
export interface MlBlock {
  n: number;
  p: number;
  X: Float64Array;
  y: Float64Array;
}

export interface MlData {
  design: MlDesign;
  p: number;
  n: number;
  nMissing: number;
  /** In-memory block (null when the model matrix exceeded the budget). */
  cached: MlBlock | null;
  /** Column scales (1 where not scaled); multiply X columns by them when reading. */
  scale: Float64Array;
  /** Calls fn on every block of the (scaled) model matrix: the cache, or a pass over the source. */
  forEach(fn: (b: MlBlock) => void | Promise<void>): Promise<void>;
}

export interface MlDataOptions extends TransformOptions {
  /** Model-matrix memory budget in bytes (default 1 GiB). */
  cacheBytes?: number;
}

function transformed(data: unknown, opts: TransformOptions): DataSource {
  const source = resolveSource(data);
  const t: TransformOptions = {};
  if (opts.rowSelection !== undefined) t.rowSelection = opts.rowSelection;
  if (opts.transforms !== undefined) t.transforms = opts.transforms;
  if (opts.transformFunc !== undefined) t.transformFunc = opts.transformFunc;
  if (opts.transformObjects !== undefined) t.transformObjects = opts.transformObjects;
  return Object.keys(t).length > 0 ? withTransforms(source, t) : source;
}

/** Resolves the formula against the data for a task (reads the data when factor levels are unknown). */
export async function createMlDesign(formula: string, source: DataSource, task: MlTask, learner: string): Promise<MlDesign> {
  if (typeof formula !== 'string') throw new RxError('RX_ARG', `Expected a formula string for formula but received ${typeof formula}`);
  const model = await createModelSpec(formula, source, { dropFirst: false });
  const r = model.response;
  if (task === 'anomaly') {
    if (r) throw new RxError('RX_FORMULA', `${learner}: an anomaly detector takes a formula without a response ("~ x1 + x2"), got "${formula}"`, { text: formula });
  } else if (!r) throw new RxError('RX_FORMULA', `${learner}: the formula "${formula}" needs a response (e.g. "y ~ x")`, { text: formula });
  if (model.offsets.length > 0) throw new RxError('RX_FORMULA', `${learner}: offset() terms are not supported (formula "${formula}")`, { text: formula });
  let classes: string[] | null = null;
  let labelKind: MlDesign['labelKind'] = 'none';
  if (r) {
    labelKind = r.kind === 'factor' ? 'factor' : 'numeric';
    if (task === 'regression' && r.kind === 'factor')
      throw new RxError('RX_MODEL', `${learner}: type 'regression' needs a numeric response but '${r.label}' is a factor`, { column: r.label });
    if (r.kind === 'factor') {
      classes = (r.levels ?? []).slice();
      if (task === 'binary' && classes.length !== 2)
        throw new RxError('RX_MODEL', `${learner}: type 'binary' needs a response with 2 levels but '${r.label}' has ${classes.length}; use type 'multiClass'`, { column: r.label });
      if (task === 'multiClass' && classes.length < 2) throw new RxError('RX_MODEL', `${learner}: the response '${r.label}' has fewer than 2 levels`, { column: r.label });
    } else if (task === 'binary') classes = ['0', '1'];
  }
  const coefs: DesignCoef[] = model.columns.map((c) => ({ name: c.name, rName: c.rName, term: c.term, dropped: c.dropped }));
  const xCols = coefs.map((c, i) => (c.dropped ? -1 : i)).filter((i) => i >= 0);
  if (xCols.length === 0) throw new RxError('RX_FORMULA', `${learner}: the formula "${formula}" has no terms`, { text: formula });
  const spec: DesignSpec = {
    formula,
    responseLabel: r ? r.label : '',
    model,
    coefs,
    xCols,
    termLabels: model.terms.map((t) => t.label),
    intercept: model.intercept,
    columns: [...model.sourceColumns],
    dropFirst: false,
  };
  const interceptCol = xCols.findIndex((i) => coefs[i]!.term === -1);
  return { spec, task, classes, labelKind, interceptCol };
}

function toRowMajor(X: Float64Array, n: number, p: number, scale: Float64Array | null): Float64Array {
  const out = new Float64Array(n * p);
  for (let j = 0; j < p; j++) {
    const s = scale ? scale[j]! : 1;
    const off = j * n;
    for (let i = 0; i < n; i++) out[i * p + j] = X[off + i]! * s;
  }
  return out;
}

/**
 * Codes the labels of a block in place: binary 0/1 (numeric labels must be 0 or 1),
 * multiClass class index (numeric labels: index into the sorted distinct values, which
 * `seen` collects while loading and fixes after), regression as is.
 */
function codeLabels(d: MlDesign, y: Float64Array, learner: string, seen: Set<number> | null): void {
  if (d.task === 'binary' && d.labelKind === 'numeric') {
    for (let i = 0; i < y.length; i++)
      if (y[i] !== 0 && y[i] !== 1)
        throw new RxError('RX_MODEL', `${learner}: type 'binary' needs a 0/1, logical or 2-level factor response; '${d.spec.responseLabel}' has the value ${y[i]}`, { column: d.spec.responseLabel });
  }
  if (d.task === 'multiClass' && d.labelKind === 'numeric') {
    if (seen) for (let i = 0; i < y.length; i++) seen.add(y[i]!);
    else {
      const idx = new Map(d.classes!.map((c, k) => [Number(c), k]));
      for (let i = 0; i < y.length; i++) {
        const k = idx.get(y[i]!);
        if (k === undefined) throw new RxError('RX_MODEL', `${learner}: label ${y[i]} was not seen when the classes were collected`, { column: d.spec.responseLabel });
        y[i] = k;
      }
    }
  }
}

/**
 * Reads the data once: the model matrix in memory when it fits `cacheBytes`, and the
 * normalisation scales (`normalize`: whether to scale). `needCache` learners (SDCA, the
 * neural net, SMO) raise when the model matrix does not fit.
 */
export async function loadMlData(
  formula: string,
  data: unknown,
  task: MlTask,
  learner: string,
  opts: MlDataOptions & { normalize: boolean; needCache: boolean },
): Promise<MlData> {
  const source = transformed(data, opts);
  const design = await createMlDesign(formula, source, task, learner);
  const spec = design.spec;
  const p = spec.xCols.length;
  const budget = opts.cacheBytes ?? 1 << 30;
  const needY = task !== 'anomaly';
  const blocks: MlBlock[] = [];
  let bytes = 0;
  let cacheOk = true;
  let n = 0;
  let nMissing = 0;
  const maxAbs = new Float64Array(p);
  const seen = task === 'multiClass' && design.labelKind === 'numeric' ? new Set<number>() : null;
  for await (const chunk of source.chunks({ columns: spec.columns }) as AsyncIterable<Chunk>) {
    const dc = buildDesign(spec, chunk, { needY });
    n += dc.n;
    nMissing += dc.nMissing;
    for (let j = 0; j < p; j++) {
      let m = maxAbs[j]!;
      const off = j * dc.n;
      for (let i = 0; i < dc.n; i++) {
        const a = Math.abs(dc.X[off + i]!);
        if (a > m) m = a;
      }
      maxAbs[j] = m;
    }
    const y = needY ? Float64Array.from(dc.y) : new Float64Array(dc.n);
    codeLabels(design, y, learner, seen);
    bytes += dc.n * p * 8 + dc.n * 8;
    if (cacheOk && bytes > budget) {
      if (opts.needCache)
        throw new RxError('RX_MODEL', `${learner}: the model matrix (${n} rows x ${p} columns) exceeds the memory budget cacheBytes = ${budget}; raise cacheBytes or select fewer rows`);
      cacheOk = false;
      blocks.length = 0;
    }
    if (cacheOk && dc.n > 0) blocks.push({ n: dc.n, p, X: toRowMajor(dc.X, dc.n, p, null), y });
  }
  if (n === 0) throw new RxError('RX_MODEL', `${learner}: no complete rows to train on (${nMissing} rows had missing values)`);
  if (seen) {
    design.classes = [...seen].sort((a, b) => a - b).map(String);
    if (design.classes.length < 2) throw new RxError('RX_MODEL', `${learner}: the response '${spec.responseLabel}' has fewer than 2 distinct values`);
    for (const b of blocks) codeLabels(design, b.y, learner, null);
  }
  const scale = new Float64Array(p).fill(1);
  if (opts.normalize) for (let j = 0; j < p; j++) if (j !== design.interceptCol && maxAbs[j]! > 0) scale[j] = 1 / maxAbs[j]!;
  let cached: MlBlock | null = null;
  if (cacheOk) {
    const X = new Float64Array(n * p);
    const y = new Float64Array(n);
    let at = 0;
    for (const b of blocks) {
      X.set(b.X, at * p);
      y.set(b.y, at);
      at += b.n;
    }
    if (opts.normalize) for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) X[i * p + j]! *= scale[j]!;
    cached = { n, p, X, y };
  }
  const forEach = async (fn: (b: MlBlock) => void | Promise<void>): Promise<void> => {
    if (cached) {
      await fn(cached);
      return;
    }
    for await (const chunk of source.chunks({ columns: spec.columns }) as AsyncIterable<Chunk>) {
      const dc = buildDesign(spec, chunk, { needY });
      if (dc.n === 0) continue;
      const y = needY ? Float64Array.from(dc.y) : new Float64Array(dc.n);
      codeLabels(design, y, learner, null);
      await fn({ n: dc.n, p, X: toRowMajor(dc.X, dc.n, p, scale), y });
    }
  };
  return { design, p, n, nMissing, cached, scale, forEach };
}

/** `normalize` option -> whether to scale, for a learner that needs (or not) normalised features. */
export function resolveNormalize(mode: NormalizeMode, learnerNeedsIt: boolean, learner: string): boolean {
  if (mode === 'yes') return true;
  if (mode === 'no') return false;
  if (mode === 'warn') {
    if (learnerNeedsIt) process.emitWarning(`${learner}: the features are not normalised (normalize = 'warn'); this learner works best on normalised features`);
    return false;
  }
  return learnerNeedsIt;
}
