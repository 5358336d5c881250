/**
 * The model object of the MicrosoftML linear learners (rxLogisticRegression, rxFastLinear):
 * weights on the raw (un-normalised) scale over the formula's model-matrix columns, one row
 * per output (1 for binary / regression, K for multiClass), plus a Platt calibrator for
 * binary classifiers whose loss is not the log-loss.
 *
 * Scores as MicrosoftML: binary -> PredictedLabel, Score (the margin), Probability;
 * multiClass -> PredictedLabel, Score.<class> (softmax probabilities); regression -> Score.
 * Rows with a missing predictor (or, with checkFactorLevels: false, an unseen level) give
 * NaN scores and a null / NaN label.
 */
import { resolveSource } from '../data/resolve.js';
import type { Chunk, Column, ColumnInfo, DataSink, Schema } from '../data/types.js';
import { RxError } from '../errors.js';
import { exprColumns } from '../expr/eval.js';
import type { DesignSpec } from '../models/design.js';
import { buildDesign } from '../models/design.js';
import type { ScoreColumns } from '../scoring/registry.js';
import type { MlDesign } from './data.js';
import { onnxScoreChunk } from './onnxscore.js';

export interface MlPredictOptions {
  /** Input columns copied to the output. */
  extraVarsToWrite?: string[];
  /** Unknown factor levels: error (true, default) or NaN scores (false). */
  checkFactorLevels?: boolean;
  /** Appended to the output column names (MicrosoftML's `suffix`). */
  suffix?: string;
  /** Also write the output columns to this sink (one chunk); the result is still returned. */
  outData?: DataSink;
  /** Replace an existing outData (default true). */
  overwrite?: boolean;
  /** 'js' (default) or 'onnx' (onnxruntime-node on rxToOnnx(model), same columns). */
  engine?: 'js' | 'native' | 'onnx';
}

export interface MlLinearData {
  kind: 'rxLogisticRegression' | 'rxFastLinear';
  type: 'binary' | 'multiClass' | 'regression';
  design: DesignSpec;
  classes: string[] | null;
  labelKind: MlDesign['labelKind'];
  interceptCol: number;
  /** K x p weights (raw scale) over the X columns; the intercept column holds the bias. */
  weights: number[][];
  /** Binary: Probability = sigmoid(a * Score + b). */
  calibrator: { a: number; b: number } | null;
  /** The options the model was trained with (resolved defaults). */
  params: Record<string, unknown>;
  /** Training summary (objective, iterations, counts, statistics). */
  stats: Record<string, number | boolean>;
  /** rxLogisticRegression (binary) with showTrainingStats: per non-zero weight, raw scale. */
  coefficientStats?: CoefficientStat[];
}

export interface CoefficientStat {
  name: string;
  estimate: number;
  stdError: number;
  zValue: number;
  pValue: number;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Predictor columns of a design (names, types, levels) for the scoring server. */
export function designInputs(spec: DesignSpec): ColumnInfo[] {
  const m = spec.model;
  const out = new Map<string, ColumnInfo>();
  for (const t of m.terms)
    for (const vi of t.vars) {
      const v = m.variables[vi]!;
      if (v.expr.type === 'name' && v.kind === 'factor' && !v.fRange) out.set(v.expr.name, { name: v.expr.name, type: 'factor', levels: v.levels!.slice() });
      else for (const c of exprColumns(v.expr)) if (!out.has(c)) out.set(c, { name: c, type: 'float64' });
    }
  return [...out.values()];
}

/** Output label column for class indices (NaN = missing). */
export function labelColumn(classes: string[], labelKind: MlDesign['labelKind'], idx: Float64Array): Float64Array | Array<string | null> {
  if (labelKind === 'factor') return Array.from(idx, (k) => (Number.isNaN(k) ? null : classes[k]!));
  return Float64Array.from(idx, (k) => (Number.isNaN(k) ? Number.NaN : Number(classes[k]!)));
}

/** Copies input columns to the output (factors as strings, missing as null). */
export function extraColumns(chunk: Chunk, names: string[], out: Record<string, unknown[]>): void {
  for (const c of names) {
    const col: Column | undefined = chunk.columns[c];
    if (!col) throw new RxError('RX_ARG', `extraVarsToWrite: column '${c}' is not in the data`, { column: c });
    const arr = (out[c] ??= []);
    for (let i = 0; i < chunk.numRows; i++) {
      const miss = col.valid ? col.valid[i] === 0 : false;
      arr.push(miss ? null : col.type === 'factor' ? col.levels![(col.data as Int32Array)[i]!] : (col.data as ArrayLike<unknown>)[i]);
    }
  }
}

/** Runs `scoreChunk` over the data and concatenates the columns. */
export async function predictChunks(
  model: { readonly modelKind: string },
  spec: DesignSpec,
  data: unknown,
  opts: MlPredictOptions,
  scoreChunk: (chunk: Chunk) => ScoreColumns,
): Promise<Record<string, ArrayLike<unknown>>> {
  const engine = opts.engine ?? 'js';
  if (engine === 'native') throw new RxError('RX_ARG', `rxPredict: engine 'native' has no scorer for ${model.modelKind} models; use engine 'js' (default) or 'onnx'`);
  if (engine !== 'js' && engine !== 'onnx') throw new RxError('RX_ARG', `Expected 'js' or 'onnx' for engine but received ${String(engine)}`);
  const source = resolveSource(data);
  const schema = await source.schema();
  const have = new Set(schema.columns.map((c) => c.name));
  const extra = opts.extraVarsToWrite ?? [];
  const read = [...new Set([...spec.columns.filter((c) => have.has(c) && c !== spec.weightVar), ...extra])];
  const parts: ScoreColumns[] = [];
  const extraOut: Record<string, unknown[]> = {};
  for await (const chunk of source.chunks({ columns: read }) as AsyncIterable<Chunk>) {
    parts.push(engine === 'onnx' ? await onnxScoreChunk(model, chunk) : scoreChunk(chunk));
    extraColumns(chunk, extra, extraOut);
  }
  const out: Record<string, ArrayLike<unknown>> = {};
  const suffix = opts.suffix ?? '';
  for (const c of extra) out[c] = extraOut[c] ?? [];
  const names = parts.length > 0 ? Object.keys(parts[0]!) : [];
  for (const name of names) {
    const cols = parts.map((p) => p[name]!);
    if (cols.every((c) => c instanceof Float64Array)) {
      const n = cols.reduce((s, c) => s + c.length, 0);
      const a = new Float64Array(n);
      let at = 0;
      for (const c of cols) {
        a.set(c as Float64Array, at);
        at += c.length;
      }
      out[name + suffix] = a;
    } else out[name + suffix] = cols.flatMap((c) => Array.from(c as ArrayLike<unknown>));
  }
  if (opts.outData) await writeColumns(out, opts.outData, opts.overwrite ?? true);
  return out;
}

/** Writes named columns to a sink: Float64Arrays and all-number columns as float64, others as strings. */
async function writeColumns(t: Record<string, ArrayLike<unknown>>, sink: DataSink, overwrite: boolean): Promise<void> {
  const names = Object.keys(t);
  const n = names.length > 0 ? t[names[0]!]!.length : 0;
  const columns: Record<string, Column> = {};
  const schema: Schema = { columns: [], numRows: n };
  for (const nm of names) {
    const v = t[nm]!;
    const arr = Array.from(v);
    if (v instanceof Float64Array || arr.every((x) => x === null || typeof x === 'number')) {
      columns[nm] = { type: 'float64', data: v instanceof Float64Array ? v : Float64Array.from(arr, (x) => (x === null ? Number.NaN : (x as number))) };
      schema.columns.push({ name: nm, type: 'float64' });
    } else {
      const data = arr.map((x) => (x === null || x === undefined ? null : String(x)));
      columns[nm] = { type: 'string', data, valid: Uint8Array.from(data, (x) => (x === null ? 0 : 1)) };
      schema.columns.push({ name: nm, type: 'string' });
    }
  }
  const w = await sink.open(schema, { overwrite, append: 'none' });
  try {
    await w.write({ numRows: n, startRow: 0, names, columns });
    await w.close();
  } catch (e) {
    await w.abort(e);
    throw e;
  }
}

export class RxMlLinearModel {
  readonly modelKind: MlLinearData['kind'];
  readonly isMlModel = true;
  constructor(readonly data: MlLinearData) {
    this.modelKind = data.kind;
  }
  get design(): DesignSpec {
    return this.data.design;
  }
  get type(): MlLinearData['type'] {
    return this.data.type;
  }
  /** Weights by coefficient name (RevoScaleR style); multiClass: one record per class. */
  coef(): Record<string, number> | Record<string, Record<string, number>> {
    const d = this.data;
    const names = d.design.xCols.map((i) => (d.design.coefs[i]!.term === -1 ? '(Bias)' : d.design.coefs[i]!.name));
    const rec = (w: number[]) => Object.fromEntries(names.map((nm, j) => [nm, w[j]!]));
    if (d.type === 'multiClass') return Object.fromEntries(d.classes!.map((c, k) => [c, rec(d.weights[k]!)]));
    return rec(d.weights[0]!);
  }

  /** Scores one chunk of input columns. */
  scoreChunk(chunk: Chunk, checkLevels = true): ScoreColumns {
    const d = this.data;
    const dc = buildDesign(d.design, chunk, { needY: false, checkLevels });
    const n0 = chunk.numRows;
    const p = dc.p;
    const K = d.weights.length;
    const eta = new Float64Array(n0 * K).fill(Number.NaN);
    for (let k = 0; k < K; k++) {
      const w = d.weights[k]!;
      const acc = new Float64Array(dc.n);
      for (let j = 0; j < p; j++) {
        const wj = w[j]!;
        if (wj === 0) continue;
        const off = j * dc.n;
        for (let r = 0; r < dc.n; r++) acc[r]! += wj * dc.X[off + r]!;
      }
      for (let r = 0; r < dc.n; r++) eta[dc.rowIndex[r]! * K + k] = acc[r]!;
    }
    if (d.type === 'regression') return { Score: eta };
    if (d.type === 'binary') {
      const cal = d.calibrator ?? { a: 1, b: 0 };
      const prob = Float64Array.from(eta, (e) => sigmoid(cal.a * e + cal.b));
      const idx = Float64Array.from(eta, (e) => (Number.isNaN(e) ? Number.NaN : e > 0 ? 1 : 0));
      return { PredictedLabel: labelColumn(d.classes!, d.labelKind, idx), Score: eta, Probability: prob };
    }
    const idx = new Float64Array(n0).fill(Number.NaN);
    const probs = d.classes!.map(() => new Float64Array(n0).fill(Number.NaN));
    for (let i = 0; i < n0; i++) {
      if (Number.isNaN(eta[i * K]!)) continue;
      let mx = Number.NEGATIVE_INFINITY;
      let arg = 0;
      for (let k = 0; k < K; k++)
        if (eta[i * K + k]! > mx) {
          mx = eta[i * K + k]!;
          arg = k;
        }
      let s = 0;
      for (let k = 0; k < K; k++) s += Math.exp(eta[i * K + k]! - mx);
      for (let k = 0; k < K; k++) probs[k]![i] = Math.exp(eta[i * K + k]! - mx) / s;
      idx[i] = arg;
    }
    const out: ScoreColumns = { PredictedLabel: labelColumn(d.classes!, d.labelKind, idx) };
    d.classes!.forEach((c, k) => {
      out[`Score.${c}`] = probs[k]!;
    });
    return out;
  }

  predict(data: unknown, opts: MlPredictOptions = {}): Promise<Record<string, ArrayLike<unknown>>> {
    return predictChunks(this, this.data.design, data, opts, (c) => this.scoreChunk(c, opts.checkFactorLevels ?? true));
  }

  summary(): string {
    const d = this.data;
    const lines = [`Call: ${d.kind}(formula = ${d.design.formula}, type = '${d.type}')`, ''];
    for (const [k, v] of Object.entries(d.stats)) lines.push(`${k}: ${v}`);
    if (d.coefficientStats) {
      lines.push('', 'Coefficients statistics: Estimate, Std. Error, z value, Pr(>|z|)');
      for (const c of d.coefficientStats) lines.push(`  ${c.name}: ${c.estimate} ${c.stdError} ${c.zValue} ${c.pValue}`);
    }
    lines.push('', 'Weights:');
    const c = this.coef();
    if (d.type === 'multiClass') for (const [cls, w] of Object.entries(c as Record<string, Record<string, number>>)) for (const [nm, v] of Object.entries(w)) lines.push(`  ${cls}+${nm}: ${v}`);
    else for (const [nm, v] of Object.entries(c as Record<string, number>)) lines.push(`  ${nm}: ${v}`);
    return lines.join('\n');
  }

  toString(): string {
    return this.summary();
  }

  toJSON(): MlLinearData {
    return this.data;
  }
  static fromJSON(j: MlLinearData): RxMlLinearModel {
    return new RxMlLinearModel(j);
  }
}
