/**
 * Sandwich (robust, HC0) covariance for probability weights (pweights) in rxLinMod, rxLogit
 * and rxGlm. With pweights the point estimates are those of the weighted fit, but the
 * weights are sampling weights, not precisions, so the model-based covariance does not
 * apply; the covariance reported is
 *   V = B M B,  B = (X'WX)^-1 (unscaled),  M = sum_i s_i s_i' x_i x_i',
 * with the score of row i: s_i = pw_i e_i for linear models (e = y - x'b) and
 * s_i = pw_i (y_i - mu_i) mu.eta(eta_i) / V(mu_i) for GLMs (pw (y - mu) for the logit).
 * This is statsmodels' WLS / GLM(var_weights=) cov_type='HC0' (White's estimator, no
 * small-sample factor). It costs one more pass over the data, at the final coefficients.
 */
import { type AccumulatorDef, registerAccumulator } from '../compute/pema.js';
import { type RxRunOptions, runAccumulator } from '../compute/run.js';
import type { Chunk, DataSource } from '../data/types.js';
import { type DesignSpec, forEachDesignBlock } from './design.js';
import { type FamilySpec, makeFamily } from './family.js';
import { xtwxAccumulate } from '../native/linalg.js';
import { pnorm, pt } from '../stats/distributions.js';
import type { ModelCommon } from './results.js';

export interface MeatSpec {
  design: DesignSpec;
  /** Final coefficients (aliased as 0). */
  beta: number[];
  /** null: linear model (identity link, score pw e). */
  family: FamilySpec | null;
}

export interface MeatState {
  meat: Float64Array;
  acc: Float64Array;
}

export const meatAccumulator: AccumulatorDef<MeatSpec, MeatState, MeatState> = registerAccumulator({
  name: 'rxSandwichMeat',
  columns: (spec) => spec.design.columns,
  init: (spec) => ({ meat: new Float64Array(spec.design.xCols.length ** 2), acc: new Float64Array(3) }),
  process(spec, state, chunk: Chunk) {
    const fam = spec.family ? makeFamily(spec.family) : null;
    forEachDesignBlock(spec.design, chunk, (d) => {
      const n = d.n;
      if (n === 0) return;
      const eta = d.offset ? Float64Array.from(d.offset) : new Float64Array(n);
      for (let j = 0; j < d.p; j++) {
        const b = spec.beta[j]!;
        if (b === 0 || Number.isNaN(b)) continue;
        const off = j * n;
        for (let i = 0; i < n; i++) eta[i]! += b * d.X[off + i]!;
      }
      const u = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const pw = d.w ? d.w[i]! : 1;
        let s: number;
        if (fam) {
          const mu = fam.linkinv(eta[i]!);
          s = (pw * (d.y[i]! - mu) * fam.muEta(eta[i]!)) / fam.variance(mu);
        } else s = pw * (d.y[i]! - eta[i]!);
        u[i] = s * s;
      }
      xtwxAccumulate(d.X, n, d.p, u, null, state.meat, new Float64Array(0), state.acc);
    });
    return state;
  },
  merge(_spec, a, b) {
    for (let i = 0; i < a.meat.length; i++) a.meat[i]! += b.meat[i]!;
    for (let i = 0; i < 3; i++) a.acc[i]! += b.acc[i]!;
    return a;
  },
  finalize: (_spec, state) => ({ done: true, result: state }),
});

/**
 * The HC0 sandwich covariance B M B (p x p, rows of arrays; NaN for aliased terms) from the
 * unscaled covariance B and one pass over the data.
 */
export async function sandwichCov(source: DataSource, runOpts: RxRunOptions, design: DesignSpec, beta: number[], aliased: boolean[], unscaled: number[][], family: FamilySpec | null): Promise<number[][]> {
  const p = design.xCols.length;
  const b0 = beta.map((b, j) => (aliased[j] ? 0 : b));
  const { meat } = await runAccumulator(meatAccumulator, { design, beta: b0, family }, source, runOpts);
  const keep: number[] = [];
  for (let j = 0; j < p; j++) if (!aliased[j]) keep.push(j);
  // T = B M (over kept columns), V = T B
  const T = new Array<number>(p * p).fill(0);
  for (const i of keep)
    for (const j of keep) {
      let s = 0;
      for (const k of keep) s += unscaled[i]![k]! * meat[j * p + k]!;
      T[i * p + j] = s;
    }
  const V = Array.from({ length: p }, () => new Array<number>(p).fill(Number.NaN));
  for (const i of keep)
    for (const j of keep) {
      let s = 0;
      for (const k of keep) s += T[i * p + k]! * unscaled[k]![j]!;
      V[i]![j] = s;
    }
  for (const i of keep)
    for (const j of keep)
      if (j > i) {
        const v = 0.5 * (V[i]![j]! + V[j]![i]!);
        V[i]![j] = v;
        V[j]![i] = v;
      }
  return V;
}

/**
 * Replaces the model-based standard errors, test statistics, p-values and covCoef of a fit
 * with probability weights by the HC0 sandwich ones (covType: 'HC0'). `normal`: z tests (GLMs
 * with a fixed dispersion), else t tests on the residual degrees of freedom.
 */
export async function applyPweights(
  res: ModelCommon & { setRobust(u: Pick<ModelCommon, 'stdErrors' | 'tValues' | 'pValues' | 'covType'> & { covCoef?: number[][] }): void },
  source: DataSource,
  runOpts: RxRunOptions,
  family: FamilySpec | null,
  normal: boolean,
  withCov: boolean,
): Promise<void> {
  const V = await sandwichCov(source, runOpts, res.design, res.coefficients, res.aliased, res.unscaledCov, family);
  const stdErrors = res.coefficients.map((_, j) => (res.aliased[j] ? Number.NaN : Math.sqrt(V[j]![j]!)));
  const tValues = res.coefficients.map((b, j) => b / stdErrors[j]!);
  const pValues = tValues.map((t) => (Number.isNaN(t) ? Number.NaN : normal ? 2 * pnorm(-Math.abs(t)) : 2 * pt(Math.abs(t), res.dfResidual, false)));
  res.setRobust({ stdErrors, tValues, pValues, covType: 'HC0', ...(withCov ? { covCoef: V } : {}) });
}
