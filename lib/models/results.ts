/**
 * Model result objects: plain data (JSON round-trip via toJSON / fromJSON) plus
 * `summary().toString()` printing like RevoScaleR's summary of rxLinMod / rxLogit / rxGlm
 * with R's printCoefmat column formatting.
 */
import type { DesignSpec } from './design.js';
import { type OnnxExportOptions, rxToOnnx } from '../onnx/index.js';
import { pnorm, pt } from '../stats/distributions.js';
import type { FamilySpec } from './family.js';

export interface ModelCommon {
  formula: string;
  design: DesignSpec;
  /** RevoScaleR-style names of the X columns. */
  coefNames: string[];
  /** R-style names (lm / glm) of the X columns. */
  rNames: string[];
  coefficients: number[];
  stdErrors: number[];
  /** t values (linmod, quasi/dispersion GLMs) or z values (logit). */
  tValues: number[];
  pValues: number[];
  aliased: boolean[];
  rank: number;
  dfResidual: number;
  conditionNumber: number;
  nValidObs: number;
  nMissingObs: number;
  unscaledCov: number[][];
  covCoef?: number[][];
  /**
   * 'HC0': stdErrors, tests and covCoef are the sandwich (robust) ones of a fit with
   * probability weights (pweights); absent: model-based.
   */
  covType?: 'HC0';
  warnings: string[];
  dataDescription?: string;
}

export interface LinModData extends ModelCommon {
  kind: 'linmod';
  sigma: number;
  rSquared: number;
  adjRSquared: number;
  fStatistic: number;
  fDf: [number, number];
  fPValue: number;
  rss: number;
  anova: Array<{ term: string; df: number; sumSq: number; meanSq: number; fValue: number; pValue: number }>;
  /** xtx: cross-product pass only; qr: plus a TSQR pass; refine: plus double-double refinement passes. */
  solver: 'xtx' | 'qr' | 'refine';
  refinePasses?: number;
  /** cube: true: the first factor's levels and the rows (frequency-weighted) in each cell. */
  countDF?: Record<string, string[] | number[]>;
}

export interface GlmData extends ModelCommon {
  kind: 'logit' | 'glm';
  family: FamilySpec;
  deviance: number;
  nullDeviance: number;
  dfNull: number;
  aic: number;
  dispersion: number;
  iterations: number;
  converged: boolean;
}

// ---------------------------------------------------------------- R number formatting

/** Significant digits (<= digits) needed to show x to `digits` significant digits, and its exponent. */
function sigInfo(x: number, digits: number): { sig: number; e10: number } {
  if (x === 0 || !Number.isFinite(x)) return { sig: 1, e10: 0 };
  const s = Math.abs(x).toExponential(digits - 1);
  const [mant, ex] = s.split('e');
  const e10 = Number(ex);
  const dd = mant!.replace('.', '').replace(/0+$/, '');
  return { sig: Math.max(1, dd.length), e10 };
}

/** R's format(x, digits) for a vector: common fixed decimals, or scientific when much narrower. */
export function formatR(xs: number[], digits: number, na = 'NA'): string[] {
  const fin = xs.filter((x) => Number.isFinite(x));
  if (fin.length === 0) return xs.map((x) => (Number.isNaN(x) ? na : x > 0 ? 'Inf' : '-Inf'));
  let rgt = 0; // decimals in fixed
  let left = 1; // integer digits
  let mxsl = 1; // sig digits for sci
  let mxe = 0;
  let mne = 0;
  let neg = false;
  for (const x of fin) {
    const { sig, e10 } = sigInfo(x, digits);
    if (x < 0) neg = true;
    rgt = Math.max(rgt, sig - 1 - e10);
    left = Math.max(left, e10 + 1);
    mxsl = Math.max(mxsl, sig);
    mxe = Math.max(mxe, e10);
    mne = Math.min(mne, e10);
  }
  rgt = Math.max(0, rgt);
  const fixedWidth = (neg ? 1 : 0) + left + (rgt > 0 ? rgt + 1 : 0);
  const eWidth = Math.abs(mxe) >= 100 || Math.abs(mne) >= 100 ? 3 : 2;
  const sciWidth = (neg ? 1 : 0) + (mxsl > 1 ? mxsl + 1 : mxsl) + 2 + eWidth;
  const sci = fixedWidth > sciWidth;
  return xs.map((x) => {
    if (Number.isNaN(x)) return na;
    if (!Number.isFinite(x)) return x > 0 ? 'Inf' : '-Inf';
    if (sci) {
      const s = x.toExponential(mxsl - 1);
      const [m, e] = s.split('e');
      const en = Number(e);
      return `${m}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
    }
    return x.toFixed(rgt);
  });
}

/** R's round(x, d). */
function roundTo(x: number, d: number): number {
  if (!Number.isFinite(x)) return x;
  const m = 10 ** d;
  return Math.round(x * m) / m;
}

/** R's format.pval(pv, digits, eps). */
export function formatPval(pv: number[], digits: number, eps = 2.220446049250313e-16, rule: 'R' | 'width' = 'R'): string[] {
  const out = pv.map(() => '');
  const fixIdx: number[] = [];
  const sciIdx: number[] = [];
  pv.forEach((p, i) => {
    if (Number.isNaN(p)) out[i] = 'NA';
    else if (p < eps) out[i] = `< ${formatR([eps], Math.max(1, digits - 2))[0]}`;
    else {
      const expo = Math.floor(Math.log10(p > 0 ? p : 1e-50));
      let fixed = expo >= -3 || p === 0;
      if (rule === 'width' && p > 0) {
        // RevoScaleR: fixed notation when it is no wider than scientific (R's format() choice)
        const { sig, e10 } = sigInfo(p, digits);
        const fw = e10 < 0 ? 2 + sig - 1 - e10 : 1 + e10 + (sig - 1 - e10 > 0 ? sig - e10 : 0);
        const sw = (sig > 1 ? sig + 1 : 1) + 4;
        fixed = fw <= sw;
      }
      if (fixed) fixIdx.push(i);
      else sciIdx.push(i);
    }
  });
  const f1 = formatR(fixIdx.map((i) => pv[i]!), digits);
  fixIdx.forEach((i, k) => {
    out[i] = f1[k]!;
  });
  const f2 = formatR(sciIdx.map((i) => pv[i]!), digits);
  sciIdx.forEach((i, k) => {
    out[i] = f2[k]!;
  });
  return out;
}

function stars(p: number): string {
  if (Number.isNaN(p)) return '';
  return p < 0.001 ? '***' : p < 0.01 ? '**' : p < 0.05 ? '*' : p < 0.1 ? '.' : ' ';
}

/**
 * R's printCoefmat(coefs, digits = 4, signif.stars = TRUE) for [Estimate, Std. Error,
 * t/z value, Pr(>|t|)], with rows whose estimate is NA printed as `naPrint` (RevoScaleR
 * prints "Dropped" for reference levels and aliased terms).
 */
export function printCoefmat(names: string[], est: number[], se: number[], tv: number[], pv: number[], statName: string, pName: string, digits = 4, naPrint = 'NA', pvalRule: 'R' | 'width' = 'R'): string {
  const ok = est.map((e) => !Number.isNaN(e));
  const acs = [...est, ...se].map(Math.abs).filter((a) => Number.isFinite(a) && a !== 0);
  let cs: string[] = [];
  if (acs.length) {
    const digmin = [acs.reduce((a, v) => Math.min(a, v)), acs.reduce((a, v) => Math.max(a, v))].map((a) => 1 + Math.floor(Math.log10(a)));
    const r = Math.max(1, digits - digmin[0]!, digits - digmin[1]!);
    const idx = est.map((_, i) => i).filter((i) => ok[i]);
    const vals = [...idx.map((i) => roundTo(est[i]!, r)), ...idx.map((i) => roundTo(se[i]!, r))];
    cs = formatR(vals, digits);
  }
  const nOk = ok.filter(Boolean).length;
  const okIdx = est.map((_, i) => i).filter((i) => ok[i]);
  const estS = est.map(() => naPrint);
  const seS = est.map(() => naPrint);
  okIdx.forEach((i, k) => {
    estS[i] = cs[k]!;
    seS[i] = cs[nOk + k]!;
  });
  const tS = est.map(() => naPrint);
  const tF = formatR(okIdx.map((i) => roundTo(tv[i]!, Math.max(1, Math.min(5, digits - 1)))), digits);
  okIdx.forEach((i, k) => {
    tS[i] = tF[k]!;
  });
  const pS = est.map(() => naPrint);
  const pF = formatPval(
    okIdx.map((i) => pv[i]!),
    Math.max(1, Math.min(5, digits - 1)),
    2.220446049250313e-16,
    pvalRule,
  );
  okIdx.forEach((i, k) => {
    pS[i] = pF[k]!;
  });
  const st = est.map((_, i) => (ok[i] ? stars(pv[i]!) : ''));
  const header = ['', 'Estimate', 'Std. Error', statName, pName, ''];
  const rows = names.map((n, i) => [n, estS[i]!, seS[i]!, tS[i]!, pS[i]!, st[i]!]);
  const w = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, j) => (j === 0 ? c.padEnd(w[0]!) : j === 5 ? c.padEnd(w[5]!) : c.padStart(w[j]!)))
      .join(' ')
      .replace(/\s+$/, '');
  const out = [line(header), ...rows.map(line)];
  out.push('---', "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1");
  return out.join('\n');
}

/** Prints a one-column coefficient matrix as R's print.default (digits 7). */
function printCoefColumn(names: string[], values: number[], header: string, naPrint = 'Dropped'): string {
  const f = formatR(values, 7, naPrint);
  const w0 = Math.max(...names.map((n) => n.length));
  const w1 = Math.max(header.length, ...f.map((s) => s.length));
  return [`${''.padEnd(w0)} ${header.padStart(w1)}`, ...names.map((n, i) => `${n.padEnd(w0)} ${f[i]!.padStart(w1)}`)].join('\n');
}

/** All coefficients including RevoScaleR's dropped reference levels (NaN). */
export function fullCoefTable(m: ModelCommon): { names: string[]; est: number[]; se: number[]; tv: number[]; pv: number[] } {
  const names: string[] = [];
  const est: number[] = [];
  const se: number[] = [];
  const tv: number[] = [];
  const pv: number[] = [];
  const pos = new Map(m.design.xCols.map((c, j) => [c, j]));
  m.design.coefs.forEach((c, i) => {
    names.push(c.name);
    const j = pos.get(i);
    if (j === undefined) {
      est.push(Number.NaN);
      se.push(Number.NaN);
      tv.push(Number.NaN);
      pv.push(Number.NaN);
    } else {
      est.push(m.coefficients[j]!);
      se.push(m.stdErrors[j]!);
      tv.push(m.tValues[j]!);
      pv.push(m.pValues[j]!);
    }
  });
  return { names, est, se, tv, pv };
}

function header(m: ModelCommon, title: string): string[] {
  const nDropped = m.design.coefs.length - m.design.xCols.length + m.aliased.filter(Boolean).length;
  const lines = [`${title} Results for: ${m.formula}`];
  if (m.dataDescription) lines.push(`Data: ${m.dataDescription}`);
  lines.push(`Dependent variable(s): ${m.design.responseLabel}`);
  lines.push(`Total independent variables: ${m.design.coefs.length}${nDropped > 0 ? ` (Including number dropped: ${nDropped})` : ''}`);
  lines.push(`Number of valid observations: ${m.nValidObs}`);
  lines.push(`Number of missing observations: ${m.nMissingObs}`);
  return lines;
}

function sig(x: number, d: number): string {
  return formatR([x], d)[0]!;
}

/** Base for the model classes. */
abstract class ModelBase<D extends ModelCommon> {
  constructor(protected readonly d: D) {
    Object.assign(this, d);
  }
  toJSON(): D {
    return this.d;
  }
  /**
   * Replaces the standard errors, tests (and covCoef) by robust ones (used by the fits for
   * probability weights; see lib/models/sandwich.ts).
   */
  setRobust(u: Pick<ModelCommon, 'stdErrors' | 'tValues' | 'pValues' | 'covType'> & { covCoef?: number[][] }): void {
    Object.assign(this.d, u);
    Object.assign(this, u);
  }
  /** ONNX export (lib/onnx): the formula's preprocessing, coefficients and inverse link. */
  toOnnx(opts: OnnxExportOptions = {}): Uint8Array {
    return rxToOnnx(this, opts);
  }
  /** Coefficients by RevoScaleR-style name (NaN when aliased). */
  coef(): Record<string, number> {
    return Object.fromEntries(this.d.coefNames.map((n, i) => [n, this.d.coefficients[i]!]));
  }
  protected coefPrint(title: string): string {
    const t = fullCoefTable(this.d);
    return [...header(this.d, title), '', 'Coefficients:', printCoefColumn(t.names, t.est, this.d.design.responseLabel)].join('\n');
  }
}

const EPS = 2.220446049250313e-16;

export interface SummaryOptions {
  /** 'RevoScaleR' (default): RevoScaleR's summary layout; 'R': R's summary.lm / summary.glm. */
  style?: 'RevoScaleR' | 'R';
}

/** RevoScaleR prints p-values floored at the machine epsilon (2.22e-16) instead of "< 2e-16". */
const floorP = (p: number) => (Number.isNaN(p) ? p : Math.max(p, EPS));

/** The line saying the standard errors are the pweights sandwich ones (none otherwise). */
function robustNote(m: ModelCommon): string[] {
  return m.covType === 'HC0' ? ['Standard errors: HC0 sandwich (robust), for probability weights'] : [];
}

/** RevoScaleR's "Condition number": round(x, 4) printed with 7 significant digits. */
const condStr = (x: number) => sig(roundTo(x, 4), 7);

function withCounts(table: string, counts: number[], nRows: number): string {
  const lines = table.split('\n');
  const body = lines.slice(0, nRows + 1);
  const w = Math.max(...body.map((l) => l.length));
  const cs = Array.from({ length: nRows }, (_, i) => (i < counts.length ? String(counts[i]) : ''));
  const cw = Math.max('Counts'.length, ...cs.map((c) => c.length));
  const out = body.map((l, i) => `${l.padEnd(w)} | ${(i === 0 ? 'Counts' : cs[i - 1]!).padStart(cw)}`);
  return [...out, ...lines.slice(nRows + 1)].join('\n');
}

function fmtF(x: number, digits: number): string {
  return formatR([x], digits)[0]!;
}

/** R's format(round(x, d), nsmall = d) style used by summary.glm deviance lines. */
function rDev(xs: number[]): string[] {
  const r = xs.map((x) => roundTo(x, 2));
  return formatR(r, Math.max(5, ...r.map((x) => String(Math.round(Math.abs(x))).length + 2))).map((v) => (v.includes('.') ? v.padEnd(v.indexOf('.') + 3, '0') : `${v}.00`));
}

export interface LinModResult extends LinModData {}
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor copies every data field onto the instance
export class LinModResult extends ModelBase<LinModData> {
  get modelKind(): string {
    return 'rxLinMod';
  }
  static fromJSON(d: LinModData): LinModResult {
    return new LinModResult(d);
  }
  override toString(): string {
    return this.coefPrint(this.d.design.cube ? 'Cube Linear Regression' : 'Linear Regression');
  }
  summary(opts: SummaryOptions = {}): { toString(): string } {
    const m = this.d;
    const fp = m.fPValue < EPS ? '< 2.2e-16' : sig(m.fPValue, 4);
    if (opts.style === 'R') {
      const text = [
        `Call:\nlm(formula = ${m.formula})`,
        '',
        'Coefficients:',
        printCoefmat(m.rNames, m.coefficients, m.stdErrors, m.tValues, m.pValues, 't value', 'Pr(>|t|)', 4, 'NA'),
        '',
        `Residual standard error: ${sig(m.sigma, 4)} on ${m.dfResidual} degrees of freedom`,
        `Multiple R-squared:  ${sig(m.rSquared, 4)},\tAdjusted R-squared:  ${sig(m.adjRSquared, 4)} `,
        `F-statistic: ${sig(m.fStatistic, 4)} on ${m.fDf[0]} and ${m.fDf[1]} DF,  p-value: ${fp}`,
      ].join('\n');
      return { toString: () => text };
    }
    const t = fullCoefTable(m);
    let table = printCoefmat(t.names, t.est, t.se, t.tv, t.pv.map(floorP), 't value', 'Pr(>|t|)', 4, 'Dropped', 'width');
    if (m.countDF) table = withCounts(table, m.countDF.Counts as number[], t.names.length);
    const text = [
      ...header(m, m.design.cube ? 'Cube Linear Regression' : 'Linear Regression'),
      '',
      'Coefficients:',
      table,
      ...robustNote(m),
      '',
      `Residual standard error: ${sig(m.sigma, 4)} on ${m.dfResidual} degrees of freedom`,
      `Multiple R-squared: ${sig(m.rSquared, 4)}${m.design.cube ? ' (as if intercept included)' : ''}`,
      `Adjusted R-squared: ${sig(m.adjRSquared, 4)}`,
      `F-statistic: ${sig(m.fStatistic, 4)} on ${m.fDf[0]} and ${m.fDf[1]} DF,  p-value: ${fp}`,
      `Condition number: ${condStr(m.conditionNumber)}`,
    ].join('\n');
    return { toString: () => text };
  }
  /** Sequential (type I) analysis of variance table, as R's anova(lm). */
  anovaTable(): LinModData['anova'] {
    return this.d.anova;
  }
}

export interface GlmResult extends GlmData {}
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the constructor copies every data field onto the instance
export class GlmResult extends ModelBase<GlmData> {
  get modelKind(): string {
    return this.d.kind === 'logit' ? 'rxLogit' : 'rxGlm';
  }
  static fromJSON(d: GlmData): GlmResult {
    return new GlmResult(d);
  }
  override toString(): string {
    return this.coefPrint(this.d.kind === 'logit' ? 'Logistic Regression' : 'Generalized Linear Model');
  }
  summary(opts: SummaryOptions = {}): { toString(): string } {
    const m = this.d;
    const fam = m.family.family;
    const fixed = fam === 'binomial' || fam === 'poisson';
    if (opts.style === 'R') {
      const famStr = fam === 'tweedie' ? 'Tweedie' : fam;
      const [nd, rd] = rDev([m.nullDeviance, m.deviance]);
      const dfw = Math.max(String(m.dfNull).length, String(m.dfResidual).length);
      const text = [
        `Call:\nglm(formula = ${m.formula}, family = ${famStr})`,
        '',
        'Coefficients:',
        printCoefmat(m.rNames, m.coefficients, m.stdErrors, m.tValues, m.pValues, fixed ? 'z value' : 't value', fixed ? 'Pr(>|z|)' : 'Pr(>|t|)', 4, 'NA'),
        '',
        `(Dispersion parameter for ${famStr} family taken to be ${sig(m.dispersion, 7)})`,
        '',
        `    Null deviance: ${nd!.padStart(Math.max(nd!.length, rd!.length))}  on ${String(m.dfNull).padStart(dfw)}  degrees of freedom`,
        `Residual deviance: ${rd!.padStart(Math.max(nd!.length, rd!.length))}  on ${String(m.dfResidual).padStart(dfw)}  degrees of freedom`,
        `AIC: ${fmtF(m.aic, 5)}`,
        '',
        `Number of Fisher Scoring iterations: ${m.iterations}`,
      ].join('\n');
      return { toString: () => text };
    }
    const t = fullCoefTable(m);
    const isLogit = m.kind === 'logit';
    // RevoScaleR: z (normal) for rxLogit; t with the residual df for every rxGlm family
    const pv = t.tv.map((x) => (Number.isNaN(x) ? Number.NaN : floorP(isLogit ? 2 * pnorm(-Math.abs(x)) : 2 * pt(Math.abs(x), m.dfResidual, false))));
    const lines = [...header(m, isLogit ? 'Logistic Regression' : 'Generalized Linear Model')];
    if (isLogit) lines.push(`-2*LogLikelihood: ${m.deviance.toFixed(4)} (Residual deviance on ${m.dfResidual} degrees of freedom)`);
    else lines.push(`Family-link: ${familyLinkLabel(m.family)}`, '', `Residual deviance: ${m.deviance.toFixed(4)} (on ${m.dfResidual} degrees of freedom)`);
    lines.push('', 'Coefficients:');
    lines.push(printCoefmat(t.names, t.est, t.se, t.tv, pv, isLogit ? 'z value' : 't value', isLogit ? 'Pr(>|z|)' : 'Pr(>|t|)', 4, 'Dropped', 'width'));
    lines.push(...robustNote(m), '');
    if (!isLogit) lines.push(`(Dispersion parameter for ${fam === 'tweedie' ? 'Tweedie' : fam} family taken to be ${sig(m.dispersion, 7)})`, '');
    lines.push(`Condition number of final variance-covariance matrix: ${condStr(m.conditionNumber)}`);
    // RevoScaleR counts the IRLS updates after the first weighted fit from the starting
    // values (its breslow output prints 4 where R's glm reports 5 iterations)
    lines.push(`Number of iterations: ${Math.max(1, m.iterations - 1)}`);
    const text = lines.join('\n');
    return { toString: () => text };
  }
}

function familyLinkLabel(f: FamilySpec): string {
  if (f.family === 'tweedie') {
    const lp = f.linkPower ?? 1 - (f.varPower ?? 0);
    return `Tweedie-${lp === 0 ? 'log' : lp === 1 ? 'identity' : `mu^${lp}`}`;
  }
  return `${f.family}-${f.link}`;
}
