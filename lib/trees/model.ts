/** Tree model objects (plain data, JSON round trip) and prediction. */
import type { Chunk, Column, DataSink, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import { type FlatTreesNative, treeNative } from '../native/tree.js';
import { type OnnxExportOptions, rxToOnnx } from '../onnx/index.js';
import { rxScore } from '../onnx/scorer.js';
import type { FeatureInfo, ResponseInfo } from './data.js';
import { readPredictors } from './data.js';

export type TreeModelKind = 'rxDTree' | 'rxDForest' | 'rxBTrees' | 'rxFastTrees' | 'rxFastForest';
/** class / anova (rxDTree), classification / regression (forests), bernoulli / gaussian / multinomial / poisson (boosting). */
export type TreeTask = 'class' | 'anova' | 'classification' | 'regression' | 'bernoulli' | 'gaussian' | 'multinomial' | 'poisson';

const TYPED: Record<string, 'f64' | 'i32' | 'u8'> = {
  nodeOffset: 'i32',
  feature: 'i32',
  threshold: 'f64',
  splitBin: 'i32',
  left: 'i32',
  right: 'i32',
  defaultLeft: 'u8',
  catOffset: 'i32',
  catWords: 'i32',
  catBits: 'i32',
  value: 'f64',
  gain: 'f64',
  cover: 'f64',
  count: 'f64',
  treeClass: 'i32',
  treeWeight: 'f64',
};

export function flatToJSON(t: FlatTreesNative): Record<string, unknown> {
  const o: Record<string, unknown> = { K: t.K };
  for (const k of Object.keys(TYPED)) o[k] = Array.from((t as unknown as Record<string, ArrayLike<number>>)[k]!);
  return o;
}
export function flatFromJSON(o: Record<string, unknown>): FlatTreesNative {
  const out: Record<string, unknown> = { K: o.K };
  for (const [k, ty] of Object.entries(TYPED)) {
    const a = o[k];
    if (!Array.isArray(a)) throw new RxError('RX_MODEL', `tree model JSON lacks "${k}"`);
    out[k] = ty === 'f64' ? Float64Array.from(a as number[]) : ty === 'i32' ? Int32Array.from(a as number[]) : Uint8Array.from(a as number[]);
  }
  return out as unknown as FlatTreesNative;
}

export interface TreeModelData {
  kind: TreeModelKind;
  formula: string;
  task: TreeTask;
  response: ResponseInfo;
  features: FeatureInfo[];
  trees: FlatTreesNative;
  /** boosting: initial raw score per output */
  init?: number[];
  learningRate?: number;
  params: Record<string, unknown>;
  /** extra results (cp table, frame, OOB error ...), plain JSON */
  extra: Record<string, unknown>;
}

export class RxTreeModel implements TreeModelData {
  readonly isTreeModel = true;
  kind: TreeModelKind;
  formula: string;
  task: TreeTask;
  response: ResponseInfo;
  features: FeatureInfo[];
  trees: FlatTreesNative;
  init?: number[];
  learningRate?: number;
  params: Record<string, unknown>;
  extra: Record<string, unknown>;
  constructor(d: TreeModelData) {
    this.kind = d.kind;
    this.formula = d.formula;
    this.task = d.task;
    this.response = d.response;
    this.features = d.features;
    this.trees = d.trees;
    if (d.init) this.init = d.init;
    if (d.learningRate !== undefined) this.learningRate = d.learningRate;
    this.params = d.params;
    this.extra = d.extra;
  }
  /** Model kind for the registry (lib/scoring): rxSerializeModel, the server, the CLI. */
  get modelKind(): string {
    return this.kind;
  }
  /** ONNX export (lib/onnx): TreeEnsemble (ai.onnx.ml 5, opset 21), double thresholds. */
  toOnnx(opts: OnnxExportOptions = {}): Uint8Array {
    return rxToOnnx(this, opts);
  }
  get numTrees(): number {
    return this.trees.nodeOffset.length - 1;
  }
  /** Class levels for classification tasks. */
  get levels(): string[] | undefined {
    return this.response.levels;
  }
  /** Number of raw outputs the trees produce per row. */
  get outputs(): number {
    if (this.task === 'multinomial') return this.response.levels!.length;
    return this.trees.K;
  }
  /** Split-gain importance per predictor (sum over trees), normalised to sum 100 when `normalize`. */
  importance(normalize = false): Record<string, number> {
    const imp = new Array(this.features.length).fill(0);
    const t = this.trees;
    for (let i = 0; i < t.feature.length; i++) if (t.feature[i]! >= 0) imp[t.feature[i]!] += t.gain[i]!;
    const tot = imp.reduce((a, b) => a + b, 0);
    const out: Record<string, number> = {};
    this.features.forEach((f, j) => {
      out[f.name] = normalize && tot > 0 ? (100 * imp[j]) / tot : imp[j];
    });
    return out;
  }
  toJSON(): Record<string, unknown> {
    return {
      format: 'rxscale.tree/1',
      kind: this.kind,
      formula: this.formula,
      task: this.task,
      response: this.response,
      features: this.features,
      trees: flatToJSON(this.trees),
      ...(this.init ? { init: this.init } : {}),
      ...(this.learningRate !== undefined ? { learningRate: this.learningRate } : {}),
      params: this.params,
      extra: this.extra,
    };
  }
  static fromJSON(o: unknown): RxTreeModel {
    const j = (typeof o === 'string' ? JSON.parse(o) : o) as Record<string, unknown>;
    if (j?.format !== 'rxscale.tree/1') throw new RxError('RX_MODEL', 'not an rxscale tree model (format rxscale.tree/1)');
    return new RxTreeModel({
      kind: j.kind as TreeModelKind,
      formula: j.formula as string,
      task: j.task as TreeTask,
      response: j.response as ResponseInfo,
      features: j.features as FeatureInfo[],
      trees: flatFromJSON(j.trees as Record<string, unknown>),
      ...(j.init ? { init: j.init as number[] } : {}),
      ...(j.learningRate !== undefined ? { learningRate: j.learningRate as number } : {}),
      params: j.params as Record<string, unknown>,
      extra: j.extra as Record<string, unknown>,
    });
  }
}

/** Raw per-row outputs (n x outputs, row-major) for a column-major predictor matrix. */
export async function rawScores(model: RxTreeModel, x: Float64Array, n: number): Promise<Float64Array> {
  const K = model.outputs;
  // rxDTree: rpart's walk (surrogates, useSurrogate) in lib/trees/dtree.ts
  if (model.kind === 'rxDTree' && model.extra.nodeSplits) return (await import('./dtree.js')).dtreeRawScores(model, x, n);
  const nat = treeNative();
  const out = n * model.numTrees < 20000 ? nat.treePredictSync(model.trees, x, n, model.features.length, K) : await nat.treePredict(model.trees, x, n, model.features.length, K);
  if (model.init) for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) out[i * K + k]! += model.init[k % model.init.length]!;
  return out;
}

/** Per-tree class votes (forests): fraction of trees whose leaf favours each class. */
async function votes(model: RxTreeModel, x: Float64Array, n: number, nc: number): Promise<Float64Array> {
  const nat = treeNative();
  const T = model.numTrees;
  const v = new Float64Array(n * nc);
  const t = model.trees;
  for (let ti = 0; ti < T; ti++) {
    const a = t.nodeOffset[ti]!;
    const b = t.nodeOffset[ti + 1]!;
    const K = t.K;
    const one = {
      ...t,
      nodeOffset: Int32Array.of(0, b - a),
      feature: t.feature.slice(a, b),
      threshold: t.threshold.slice(a, b),
      splitBin: t.splitBin.slice(a, b),
      left: t.left.slice(a, b),
      right: t.right.slice(a, b),
      defaultLeft: t.defaultLeft.slice(a, b),
      catOffset: t.catOffset.slice(a, b),
      catWords: t.catWords.slice(a, b),
      value: t.value.slice(a * K, b * K),
      gain: t.gain.slice(a, b),
      cover: t.cover.slice(a, b),
      count: t.count.slice(a, b),
      treeClass: Int32Array.of(-1),
      treeWeight: Float64Array.of(1),
    };
    const s = nat.treePredictSync(one, x, n, model.features.length, K);
    for (let i = 0; i < n; i++) {
      let cls: number;
      if (K === 1) cls = s[i]! >= 0.5 ? 1 : 0;
      else {
        cls = 0;
        for (let k = 1; k < K; k++) if (s[i * K + k]! > s[i * K + cls]!) cls = k;
      }
      v[i * nc + cls]! += 1 / T;
    }
  }
  return v;
}

export interface TreePredictOptions {
  /** rxDTree: 'vector' | 'prob' | 'class'; ensembles: 'response' | 'prob' | 'vote' */
  type?: 'vector' | 'prob' | 'class' | 'response' | 'vote';
  predVarNames?: string[];
  /** copy these columns of `data` into the result */
  extraVarsToWrite?: string[];
  /** add the response's residuals (numeric responses present in `data`) */
  computeResiduals?: boolean;
  /** binary classification cutoff on P(second level) (default 0.5) */
  cutoff?: number;
  /** 'native' (compiled scorer) or 'onnx' (onnxruntime-node on the exported graph): probabilities + class / prediction (lib/onnx/scorer.ts). */
  engine?: 'js' | 'native' | 'onnx';
  /** also write the model's predictor variables */
  writeModelVars?: boolean;
  /** write the predictions to this sink as well (returned table is unchanged) */
  outData?: DataSink;
  overwrite?: boolean;
}

export type PredictionTable = Record<string, Float64Array | Array<string | null>>;

function probsOf(model: RxTreeModel, raw: Float64Array, n: number): { probs: Float64Array; nc: number } | undefined {
  const lv = model.levels;
  if (!lv) return undefined;
  const nc = lv.length;
  const K = model.outputs;
  const probs = new Float64Array(n * nc);
  for (let i = 0; i < n; i++) {
    if (model.task === 'bernoulli') {
      const p1 = 1 / (1 + Math.exp(-raw[i]!));
      probs[i * nc] = 1 - p1;
      probs[i * nc + 1] = p1;
    } else if (model.task === 'multinomial') {
      let mx = -Infinity;
      for (let k = 0; k < nc; k++) mx = Math.max(mx, raw[i * K + k]!);
      let z = 0;
      for (let k = 0; k < nc; k++) z += Math.exp(raw[i * K + k]! - mx);
      for (let k = 0; k < nc; k++) probs[i * nc + k] = Math.exp(raw[i * K + k]! - mx) / z;
    } else if (K === 1 && nc === 2) {
      probs[i * nc] = 1 - raw[i]!;
      probs[i * nc + 1] = raw[i]!;
    } else {
      for (let k = 0; k < nc; k++) probs[i * nc + k] = raw[i * K + k]!;
    }
  }
  return { probs, nc };
}

/** Predictions of a tree model for `data` as a table of columns. */
export async function predictTreeModel(model: RxTreeModel, data: unknown, opts: TreePredictOptions = {}): Promise<PredictionTable> {
  if (!(model instanceof RxTreeModel)) throw new RxError('RX_ARG', 'Expected a tree model (rxDTree, rxDForest, rxBTrees, rxFastTrees, rxFastForest) for model');
  if (opts.engine === 'native' || opts.engine === 'onnx') return rxScore(model, data, { engine: opts.engine, ...(opts.cutoff !== undefined ? { cutoff: opts.cutoff } : {}) });
  const writeVars = [...(opts.extraVarsToWrite ?? []), ...(opts.writeModelVars ? model.features.map((f) => f.name) : [])];
  const extras = [...writeVars, ...(opts.computeResiduals ? [model.response.name] : [])];
  const { x, n, extraCols } = await readPredictors(data, model.features, extras);
  const raw = await rawScores(model, x, n);
  const out: PredictionTable = {};
  const y = model.response.name;
  const lv = model.levels;
  const isDTree = model.kind === 'rxDTree';
  const type = opts.type ?? (isDTree ? (lv ? 'prob' : 'vector') : 'response');
  const allowed = isDTree ? ['vector', 'prob', 'class'] : ['response', 'prob', 'vote'];
  if (!allowed.includes(type)) throw new RxError('RX_ARG', `Expected one of ${allowed.map((a) => `'${a}'`).join(', ')} for type but received string "${type}"`);
  const cutoff = opts.cutoff ?? 0.5;
  if (model.kind === 'rxFastTrees' || model.kind === 'rxFastForest') {
    if (lv) {
      const pr = probsOf(model, raw, n)!;
      const label: Array<string | null> = new Array(n);
      const score = new Float64Array(n);
      const prob = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        prob[i] = pr.probs[i * 2 + 1]!;
        score[i] = model.task === 'bernoulli' ? raw[i]! : prob[i]!;
        label[i] = prob[i]! >= cutoff ? lv[1]! : lv[0]!;
      }
      out.PredictedLabel = label;
      out.Score = score;
      out.Probability = prob;
    } else {
      out.Score = raw.slice(0, n);
    }
  } else if (lv) {
    const pr = probsOf(model, raw, n)!;
    const nc = pr.nc;
    const probs = type === 'vote' ? await votes(model, x, n, nc) : pr.probs;
    if (type === 'class' || type === 'response') {
      const cls: Array<string | null> = new Array(n);
      for (let i = 0; i < n; i++) {
        let b = 0;
        if (nc === 2 && model.kind !== 'rxDTree') b = probs[i * 2 + 1]! >= cutoff ? 1 : 0;
        else for (let k = 1; k < nc; k++) if (probs[i * nc + k]! > probs[i * nc + b]!) b = k;
        cls[i] = lv[b]!;
      }
      out[opts.predVarNames?.[0] ?? `${y}_Pred`] = cls;
    } else {
      lv.forEach((l, k) => {
        const col = new Float64Array(n);
        for (let i = 0; i < n; i++) col[i] = probs[i * nc + k]!;
        out[opts.predVarNames?.[k] ?? `${l}_${type === 'vote' ? 'Vote' : 'prob'}`] = col;
      });
    }
  } else {
    const pred = new Float64Array(n);
    for (let i = 0; i < n; i++) pred[i] = model.task === 'poisson' ? Math.exp(raw[i]!) : raw[i]!;
    out[opts.predVarNames?.[0] ?? `${y}_Pred`] = pred;
    if (opts.computeResiduals && extraCols[y]) {
      const res = new Float64Array(n);
      let r = 0;
      for (const c of extraCols[y]!) {
        const d = c.data as Float64Array;
        for (let i = 0; i < d.length; i++, r++) res[r] = (c.valid && c.valid[i] === 0 ? Number.NaN : d[i]!) - pred[r]!;
      }
      out[`${y}_Resid`] = res;
    }
  }
  for (const e of writeVars) {
    const cs = extraCols[e];
    if (!cs) throw new RxError('RX_ARG', `extraVarsToWrite: "${e}" is not in the data`, { column: e });
    const first = cs[0];
    if (first && first.type === 'factor') {
      const vals: Array<string | null> = [];
      for (const c of cs) for (let i = 0; i < (c.data as Int32Array).length; i++) vals.push(c.valid && c.valid[i] === 0 ? null : c.levels![(c.data as Int32Array)[i]!]!);
      out[e] = vals;
    } else if (first && Array.isArray(first.data)) {
      out[e] = cs.flatMap((c) => c.data as Array<string | null>);
    } else {
      const v = new Float64Array(n);
      let r = 0;
      for (const c of cs) for (let i = 0; i < (c.data as Float64Array).length; i++) v[r++] = c.valid && c.valid[i] === 0 ? Number.NaN : Number((c.data as Float64Array)[i]);
      out[e] = v;
    }
  }
  if (opts.outData) await writeTable(out, n, opts.outData, opts.overwrite ?? true);
  return out;
}

/** Writes a prediction table to a sink as one chunk (numbers as float64, labels as strings). */
async function writeTable(t: PredictionTable, n: number, sink: DataSink, overwrite: boolean): Promise<void> {
  const names = Object.keys(t);
  const columns: Record<string, Column> = {};
  const schema: Schema = { columns: [], numRows: n };
  for (const nm of names) {
    const v = t[nm]!;
    if (v instanceof Float64Array) {
      columns[nm] = { type: 'float64', data: v };
      schema.columns.push({ name: nm, type: 'float64' });
    } else {
      const valid = Uint8Array.from(v, (x) => (x === null ? 0 : 1));
      columns[nm] = { type: 'string', data: v, valid };
      schema.columns.push({ name: nm, type: 'string' });
    }
  }
  const w = await sink.open(schema, { overwrite, append: 'none' });
  try {
    const chunk: Chunk = { numRows: n, startRow: 0, names, columns };
    await w.write(chunk);
    await w.close();
  } catch (e) {
    await w.abort(e);
    throw e;
  }
}
