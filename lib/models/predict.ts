/**
 * rxPredict for rxLinMod / rxLogit / rxGlm models: predictions, residuals, standard
 * errors and confidence / prediction intervals, chunk by chunk, to memory or any DataSink.
 */
import type { Chunk, Column, DataSink, Schema } from '../data/types.js';
import { resolveSource } from '../data/resolve.js';
import { RxError } from '../errors.js';
import { qnorm, qt } from '../stats/distributions.js';
import { argError } from '../validate.js';
import { buildDesign, hasResponseColumns, responseValues } from './design.js';
import { makeFamily } from './family.js';
import { rxScore } from '../onnx/scorer.js';
import type { GlmResult, LinModResult } from './results.js';

export interface RxPredictOptions {
  outData?: DataSink;
  type?: 'response' | 'link';
  computeResiduals?: boolean;
  computeStdErrors?: boolean;
  interval?: 'none' | 'confidence' | 'prediction';
  confidenceLevel?: number;
  writeModelVars?: boolean;
  extraVarsToWrite?: string[];
  predVarNames?: string[];
  overwrite?: boolean;
  rowsPerRead?: number;
  /** Unknown factor levels: error (true, default, as RevoScaleR) or NA (false). */
  checkFactorLevels?: boolean;
  /** 'native' (compiled scorer) or 'onnx' (onnxruntime-node on the exported graph): `<y>_Pred` only (lib/onnx/scorer.ts). */
  engine?: 'js' | 'native' | 'onnx';
}

/** Predictions as named Float64Arrays (NaN where a row had missing predictors). */
export async function rxPredict(model: LinModResult | GlmResult, data: unknown, opts: RxPredictOptions = {}): Promise<Record<string, Float64Array | unknown[]>> {
  if (!model || !('design' in model)) throw argError('an rxLinMod, rxLogit or rxGlm model', 'model', model);
  if (opts.engine === 'native' || opts.engine === 'onnx') return rxScore(model, data, { engine: opts.engine }) as Promise<Record<string, Float64Array>>;
  const d = model.toJSON();
  const design = d.design;
  const source = resolveSource(data);
  const y = design.responseLabel;
  const type = opts.type ?? 'response';
  const interval = opts.interval ?? 'none';
  const isLin = d.kind === 'linmod';
  const fam = isLin ? null : makeFamily((d as ReturnType<GlmResult['toJSON']>).family);
  const level = opts.confidenceLevel ?? 0.95;
  if (!(level > 0 && level < 1)) throw argError('a number between 0 and 1', 'confidenceLevel', level);
  const needSe = (opts.computeStdErrors ?? false) || interval !== 'none';
  if (interval === 'prediction' && !isLin) throw new RxError('RX_ARG', "interval = 'prediction' is only available for rxLinMod models");
  const names = opts.predVarNames ?? [`${y}_Pred`];
  const p = design.xCols.length;
  const beta = d.coefficients.map((b) => (Number.isNaN(b) ? 0 : b));
  const scale = isLin ? (d as ReturnType<LinModResult['toJSON']>).sigma ** 2 : (d as ReturnType<GlmResult['toJSON']>).dispersion;
  if (needSe && d.unscaledCov.length !== p)
    throw new RxError('RX_MODEL', `rxPredict: standard errors and intervals need the full coefficient covariance, which this model does not keep (a cube fitted with ${p} columns)`);
  const V = d.unscaledCov.map((r, i) => r.map((v, j) => (d.aliased[i] || d.aliased[j] ? 0 : v * scale)));
  const crit = interval === 'none' ? 0 : isLin || !['binomial', 'poisson'].includes(fam!.family) ? qt((1 + level) / 2, d.dfResidual) : qnorm((1 + level) / 2);
  const out: Record<string, number[] | unknown[]> = {};
  const cols = [names[0]!];
  if (opts.computeResiduals) cols.push(names[1] ?? `${y}_Resid`);
  if (needSe && opts.computeStdErrors) cols.push(`${y}_StdErr`);
  if (interval !== 'none') cols.push(`${y}_Lower`, `${y}_Upper`);
  for (const c of cols) out[c] = [];
  const extra = [...(opts.extraVarsToWrite ?? []), ...(opts.writeModelVars ? design.columns : [])];
  for (const c of extra) out[c] = [];
  const schema: Schema = await source.schema();
  const read = [...new Set([...design.columns.filter((c) => schema.columns.some((s) => s.name === c)), ...extra])];
  // weights are not needed to predict
  const { weightVar: _w, ...xDesign } = design;
  const hasY = hasResponseColumns(
    design,
    schema.columns.map((c) => c.name),
  );
  const chunkOpts = opts.rowsPerRead ? { columns: read, rowsPerRead: opts.rowsPerRead } : { columns: read };
  for await (const chunk of source.chunks(chunkOpts) as AsyncIterable<Chunk>) {
    const dc = buildDesign(xDesign, chunk, { needY: false, checkLevels: opts.checkFactorLevels ?? true });
    const n0 = chunk.numRows;
    const pred = new Float64Array(n0).fill(Number.NaN);
    const se = new Float64Array(n0).fill(Number.NaN);
    const lo = new Float64Array(n0).fill(Number.NaN);
    const hi = new Float64Array(n0).fill(Number.NaN);
    for (let r = 0; r < dc.n; r++) {
      let eta = dc.offset ? dc.offset[r]! : 0;
      for (let j = 0; j < p; j++) eta += beta[j]! * dc.X[j * dc.n + r]!;
      let s2 = 0;
      if (needSe) {
        for (let a = 0; a < p; a++) {
          const xa = dc.X[a * dc.n + r]!;
          if (xa === 0) continue;
          for (let b = 0; b < p; b++) s2 += xa * V[a]![b]! * dc.X[b * dc.n + r]!;
        }
      }
      const i = dc.rowIndex[r]!;
      const seEta = Math.sqrt(s2);
      if (isLin || type === 'link') {
        pred[i] = eta;
        se[i] = seEta;
        const half = crit * (interval === 'prediction' ? Math.sqrt(s2 + scale) : seEta);
        lo[i] = eta - half;
        hi[i] = eta + half;
      } else {
        pred[i] = fam!.linkinv(eta);
        se[i] = seEta * Math.abs(fam!.muEta(eta));
        const a = fam!.linkinv(eta - crit * seEta);
        const b = fam!.linkinv(eta + crit * seEta);
        lo[i] = Math.min(a, b);
        hi[i] = Math.max(a, b);
      }
    }
    append(out[cols[0]!] as number[], pred);
    if (opts.computeResiduals) {
      const yv = hasY ? responseValues(design, chunk) : new Float64Array(n0).fill(Number.NaN);
      const res = new Float64Array(n0);
      for (let i = 0; i < n0; i++) res[i] = yv[i]! - pred[i]!;
      append(out[cols[1]!] as number[], res);
    }
    if (needSe && opts.computeStdErrors) append(out[`${y}_StdErr`] as number[], se);
    if (interval !== 'none') {
      append(out[`${y}_Lower`] as number[], lo);
      append(out[`${y}_Upper`] as number[], hi);
    }
    for (const c of extra) {
      const col: Column = chunk.columns[c]!;
      for (let i = 0; i < n0; i++) {
        const miss = col.valid ? col.valid[i] === 0 : false;
        (out[c] as unknown[]).push(miss ? null : col.type === 'factor' ? col.levels![(col.data as Int32Array)[i]!] : (col.data as ArrayLike<unknown>)[i]);
      }
    }
  }
  const result: Record<string, Float64Array | unknown[]> = {};
  for (const [k, v] of Object.entries(out)) result[k] = cols.includes(k) ? Float64Array.from(v as number[]) : v;
  if (opts.outData) {
    const n = (result[cols[0]!] as Float64Array).length;
    const outSchema: Schema = { columns: cols.map((c) => ({ name: c, type: 'float64' as const })), numRows: n };
    const w = await opts.outData.open(outSchema, { overwrite: opts.overwrite ?? false });
    try {
      const columns: Record<string, Column> = {};
      for (const c of cols) columns[c] = { type: 'float64', data: result[c] as Float64Array };
      await w.write({ numRows: n, startRow: 0, names: cols, columns });
      await w.close();
    } catch (e) {
      await w.abort(e);
      throw e;
    }
  }
  return result;
}

/** Appends src to dst element by element (a spread would overflow the call stack on large chunks). */
function append(dst: number[], src: Float64Array): void {
  for (let i = 0; i < src.length; i++) dst.push(src[i]!);
}
