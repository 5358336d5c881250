/**
 * GLM families and links as in R's stats::family objects: link, inverse link, d mu/d eta,
 * variance, unit deviance, AIC and starting values. Plain data (`{ family, link,
 * varPower?, linkPower? }`) describes a family so models stay serialisable; `makeFamily`
 * rebuilds the functions.
 */
import { RxError } from '../errors.js';
import { dbinomLog, dgammaLog, dpoisLog, dnorm, pnorm, qnorm } from '../stats/distributions.js';

export type FamilyName = 'gaussian' | 'binomial' | 'poisson' | 'Gamma' | 'inverse.gaussian' | 'tweedie' | 'quasipoisson' | 'quasibinomial';
export type LinkName = 'identity' | 'logit' | 'probit' | 'cloglog' | 'log' | 'inverse' | '1/mu^2' | 'sqrt' | 'power';

export interface FamilySpec {
  family: FamilyName;
  link: LinkName;
  /** tweedie variance power (var = mu^p). */
  varPower?: number;
  /** tweedie / power link: eta = mu^linkPower (0 = log). */
  linkPower?: number;
}

export interface Family extends FamilySpec {
  linkfun(mu: number): number;
  linkinv(eta: number): number;
  muEta(eta: number): number;
  variance(mu: number): number;
  /** Unit deviance times the prior weight. */
  devResid(y: number, mu: number, wt: number): number;
  validMu(mu: number): boolean;
  /** Starting mu for one observation (R's family$initialize). */
  muStart(y: number, wt: number): number;
  /** True when the dispersion is fixed at 1 (binomial, poisson). */
  fixedDispersion: boolean;
  /** Number of extra parameters counted in AIC (dispersion estimated by ML: +1). */
  aicExtraParam: number;
}

const DEFAULT_LINK: Record<FamilyName, LinkName> = {
  gaussian: 'identity',
  binomial: 'logit',
  quasibinomial: 'logit',
  poisson: 'log',
  quasipoisson: 'log',
  Gamma: 'inverse',
  'inverse.gaussian': '1/mu^2',
  tweedie: 'power',
};

const DBL_EPS = 2.220446049250313e-16;
const THRESH = -qnorm(DBL_EPS);
const MTHRESH = -30;
const INVEPS = 1 / DBL_EPS;

interface Link {
  linkfun(mu: number): number;
  linkinv(eta: number): number;
  muEta(eta: number): number;
  validEta?(eta: number): boolean;
}

function makeLink(name: LinkName, power = 1): Link {
  switch (name) {
    case 'identity':
      return { linkfun: (m) => m, linkinv: (e) => e, muEta: () => 1 };
    case 'log':
      return { linkfun: Math.log, linkinv: (e) => Math.max(Math.exp(e), DBL_EPS), muEta: (e) => Math.max(Math.exp(e), DBL_EPS) };
    case 'logit':
      return {
        linkfun: (m) => Math.log(m / (1 - m)),
        linkinv: (e) => {
          const t = e < MTHRESH ? DBL_EPS : e > -MTHRESH ? INVEPS : Math.exp(e);
          return t / (1 + t);
        },
        muEta: (e) => {
          const o = Math.exp(-Math.abs(e)); // symmetric, stable
          return Math.max(o / ((1 + o) * (1 + o)), DBL_EPS);
        },
      };
    case 'probit':
      return {
        linkfun: (m) => qnorm(m),
        linkinv: (e) => pnorm(Math.min(Math.max(e, -THRESH), THRESH)),
        muEta: (e) => Math.max(dnorm(e), DBL_EPS),
      };
    case 'cloglog':
      return {
        linkfun: (m) => Math.log(-Math.log1p(-m)),
        linkinv: (e) => Math.max(Math.min(-Math.expm1(-Math.exp(e)), 1 - DBL_EPS), DBL_EPS),
        muEta: (e) => {
          const ee = Math.min(e, 700);
          return Math.max(Math.exp(ee) * Math.exp(-Math.exp(ee)), DBL_EPS);
        },
      };
    case 'inverse':
      return { linkfun: (m) => 1 / m, linkinv: (e) => 1 / e, muEta: (e) => -1 / (e * e) };
    case '1/mu^2':
      return { linkfun: (m) => 1 / (m * m), linkinv: (e) => 1 / Math.sqrt(e), muEta: (e) => -1 / (2 * e ** 1.5) };
    case 'sqrt':
      return { linkfun: Math.sqrt, linkinv: (e) => e * e, muEta: (e) => 2 * e };
    case 'power':
      if (power === 0) return makeLink('log');
      if (power === 1) return makeLink('identity');
      return {
        linkfun: (m) => m ** power,
        linkinv: (e) => Math.max(e, DBL_EPS) ** (1 / power),
        muEta: (e) => (1 / power) * Math.max(e, DBL_EPS) ** (1 / power - 1),
      };
    default:
      throw new RxError('RX_ARG', `Unknown link '${name as string}'`);
  }
}

const ALLOWED: Record<FamilyName, LinkName[]> = {
  gaussian: ['identity', 'log', 'inverse'],
  binomial: ['logit', 'probit', 'cloglog', 'log'],
  quasibinomial: ['logit', 'probit', 'cloglog', 'log'],
  poisson: ['log', 'identity', 'sqrt'],
  quasipoisson: ['log', 'identity', 'sqrt'],
  Gamma: ['inverse', 'identity', 'log'],
  'inverse.gaussian': ['1/mu^2', 'inverse', 'identity', 'log'],
  tweedie: ['power', 'log', 'identity', 'inverse'],
};

/** y log(y / mu) with 0 log 0 = 0 (R's y_log_y). */
function ylogy(y: number, mu: number): number {
  return y !== 0 ? y * Math.log(y / mu) : 0;
}

/** Normalises `family` / `link` options into a plain FamilySpec (validating them). */
export function familySpec(family: unknown = 'gaussian', link?: unknown, varPower?: number, linkPower?: number): FamilySpec {
  let fam: string;
  let lk: unknown = link;
  let vp = varPower;
  let lp = linkPower;
  if (typeof family === 'object' && family !== null) {
    const f = family as Partial<FamilySpec>;
    fam = String(f.family);
    lk ??= f.link;
    vp ??= f.varPower;
    lp ??= f.linkPower;
  } else fam = String(family);
  if (fam === 'gamma') fam = 'Gamma';
  if (!(fam in DEFAULT_LINK))
    throw new RxError('RX_ARG', `Expected one of ${Object.keys(DEFAULT_LINK).map((k) => `'${k}'`).join(', ')} for family but received '${fam}'`);
  const name = fam as FamilyName;
  const l = (lk ?? DEFAULT_LINK[name]) as LinkName;
  if (!ALLOWED[name].includes(l))
    throw new RxError('RX_ARG', `Link '${String(l)}' is not available for the ${name} family (use one of ${ALLOWED[name].join(', ')})`);
  const spec: FamilySpec = { family: name, link: l };
  if (name === 'tweedie') {
    spec.varPower = vp ?? 0;
    spec.linkPower = lp ?? 1 - (vp ?? 0);
    if (spec.varPower > 0 && spec.varPower < 1) throw new RxError('RX_ARG', 'tweedie varPower must be 0 or >= 1');
  }
  return spec;
}

export function makeFamily(spec: FamilySpec): Family {
  const f = spec.family;
  const lp = spec.link === 'power' ? (spec.linkPower ?? 1) : 1;
  const link = makeLink(spec.link, lp);
  const base = { ...spec, ...link };
  switch (f) {
    case 'gaussian':
      return {
        ...base,
        variance: () => 1,
        devResid: (y, mu, w) => w * (y - mu) * (y - mu),
        validMu: () => true,
        muStart: (y) => y,
        fixedDispersion: false,
        aicExtraParam: 1,
      };
    case 'binomial':
    case 'quasibinomial':
      return {
        ...base,
        variance: (mu) => mu * (1 - mu),
        devResid: (y, mu, w) => 2 * w * (ylogy(y, mu) + ylogy(1 - y, 1 - mu)),
        validMu: (mu) => mu > 0 && mu < 1,
        muStart: (y, w) => (w * y + 0.5) / (w + 1),
        fixedDispersion: f === 'binomial',
        aicExtraParam: 0,
      };
    case 'poisson':
    case 'quasipoisson':
      return {
        ...base,
        variance: (mu) => mu,
        devResid: (y, mu, w) => {
          const r = mu * w;
          return y > 0 ? 2 * (w * y * Math.log(y / mu) - (w * (y - mu))) : 2 * r;
        },
        validMu: (mu) => mu > 0 && Number.isFinite(mu),
        muStart: (y) => y + 0.1,
        fixedDispersion: f === 'poisson',
        aicExtraParam: 0,
      };
    case 'Gamma':
      return {
        ...base,
        variance: (mu) => mu * mu,
        devResid: (y, mu, w) => -2 * w * (Math.log(y === 0 ? 1 : y / mu) - (y - mu) / mu),
        validMu: (mu) => mu > 0 && Number.isFinite(mu),
        muStart: (y) => y,
        fixedDispersion: false,
        aicExtraParam: 1,
      };
    case 'inverse.gaussian':
      return {
        ...base,
        variance: (mu) => mu * mu * mu,
        devResid: (y, mu, w) => (w * (y - mu) * (y - mu)) / (y * mu * mu),
        validMu: () => true,
        muStart: (y) => y,
        fixedDispersion: false,
        aicExtraParam: 1,
      };
    case 'tweedie': {
      const p = spec.varPower ?? 0;
      return {
        ...base,
        variance: (mu) => mu ** p,
        devResid: (y, mu, w) => {
          // statmod::tweedie dev.resids
          if (p === 0) return w * (y - mu) * (y - mu);
          if (p === 1) return 2 * w * (ylogy(y, mu) - (y - mu));
          if (p === 2) return 2 * w * (-Math.log(y === 0 ? 1 : y / mu) + (y - mu) / mu);
          const y1 = y + 0.1 * (y === 0 ? 1 : 0);
          const theta = (y1 ** (1 - p) - mu ** (1 - p)) / (1 - p);
          const kappa = (y ** (2 - p) - mu ** (2 - p)) / (2 - p);
          return 2 * w * (y * theta - kappa);
        },
        validMu: (mu) => mu > 0 || p === 0,
        muStart: (y) => (p === 0 ? y : y + 0.1 * (y === 0 ? 1 : 0)),
        fixedDispersion: false,
        aicExtraParam: 1,
      };
    }
    default:
      throw new RxError('RX_ARG', `Unknown family '${f as string}'`);
  }
}

/**
 * R's family$aic(y, n, mu, wt, dev) + 2 * rank; NaN for quasi and tweedie families
 * (no likelihood). `ys`, `mus`, `wts` are over valid observations.
 */
export function glmAicTerm(spec: FamilySpec, y: ArrayLike<number>, mu: ArrayLike<number>, wt: ArrayLike<number> | null, dev: number, nobs: number): number {
  const n = y.length;
  const w = (i: number) => (wt ? wt[i] : 1);
  switch (spec.family) {
    case 'gaussian': {
      // R's gaussian()$aic ignores prior weights here (logLik.lm adds them)
      return nobs * (Math.log((2 * Math.PI * dev) / nobs) + 1) + 2;
    }
    case 'binomial': {
      // 0/1 response with prior weights m: -2 sum (m / m) dbinom(m y, m, mu, log)
      let s = 0;
      for (let i = 0; i < n; i++) {
        const m = w(i);
        if (m > 0) s += dbinomLog(Math.round(m * y[i]), Math.round(m), mu[i]);
      }
      return -2 * s;
    }
    case 'poisson': {
      let s = 0;
      for (let i = 0; i < n; i++) s += dpoisLog(y[i], mu[i]) * w(i);
      return -2 * s;
    }
    case 'Gamma': {
      let sw = 0;
      for (let i = 0; i < n; i++) sw += w(i);
      const disp = dev / sw;
      let s = 0;
      for (let i = 0; i < n; i++) s += w(i) * dgammaLog(y[i], 1 / disp, mu[i] * disp);
      return -2 * s + 2;
    }
    case 'inverse.gaussian': {
      let sw = 0;
      let sly = 0;
      for (let i = 0; i < n; i++) {
        sw += w(i);
        sly += Math.log(y[i]) * w(i);
      }
      return sw * (Math.log((dev / sw) * 2 * Math.PI) + 1) + 3 * sly + 2;
    }
    default:
      return Number.NaN;
  }
}
